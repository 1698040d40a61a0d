// File: io_loop.hpp
// How an I/O thread runs its io_context. By default it is just run(): sleep in epoll_wait when there is
// nothing to do. With a busy-poll window the thread keeps polling for that long after its last event,
// calling sched_yield between polls so that any other runnable thread on the core (the load generator,
// the model server, another worker) goes first. On a virtual machine the wake-up of a sleeping vCPU costs
// tens of microseconds, paid twice per proxied request (the client's request, the upstream's answer);
// polling through the short gap between them removes that from the latency at low load, and costs only the
// window's worth of CPU after the last request when the server goes idle.
#pragma once

#include <chrono>

#include <boost/asio/io_context.hpp>

namespace modelrelay::server {

void run_io(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll);

}  // namespace modelrelay::server
