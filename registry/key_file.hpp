// File: key_file.hpp
// Files that hold a 32-byte key (the KEK, the legacy master.key): reading one strictly, creating one
// atomically and durably, and the rename/fsync steps KEK rotation is built from. Split from keyring.hpp
// because both the KEK and the legacy master key need it, and because every step here is a POSIX call
// whose failure must become a clear start-up message rather than a half-written key.
//
// Accepted contents: exactly 32 raw bytes, or the standard base64 encoding of 32 bytes (surrounding
// whitespace ignored). Files written here hold the 32 raw bytes.
//
// All errors are errc::illegal_state with a reason fit for the start-up log: paths and errno texts,
// never key material.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "registry/crypto.hpp"
#include "registry/error.hpp"

namespace modelrelay::registry {

// Reads and parses the key file at `path`. `what` names it in messages ("key-encryption key file").
// The path must be a regular file of at most 4 KiB. An unparsable file is an error and is never modified.
result<secret_key> read_key_file(const std::filesystem::path& path, std::string_view what);

// Refuses a file that grants anything beyond owner-read (mode must be 0400 or stricter), with the chmod
// that fixes it in the message.
result<void> require_owner_read_only(const std::filesystem::path& path, std::string_view what);

// Creates `path` holding `key` (32 raw bytes) with `mode`: written to a temporary file in the same
// directory, fsync'd, renamed into place without replacing anything, then the directory is fsync'd.
// Errors when `path` exists (reason says so), or on any I/O failure (the temporary file is removed).
result<void> create_key_file(
    const std::filesystem::path& path, const secret_key& key, mode_t mode, std::string_view what
);

// rename(2) that never replaces an existing `to` (RENAME_NOREPLACE, or link+unlink where the file system
// lacks it). Errors mention both paths.
result<void> rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// fsync of a directory, so renames and creations in it survive a crash.
result<void> fsync_directory(const std::filesystem::path& dir);

// Whether `path` exists (any type); errors other than ENOENT are reported.
result<bool> path_exists(const std::filesystem::path& path);

}  // namespace modelrelay::registry
