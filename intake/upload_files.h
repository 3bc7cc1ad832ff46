// The bytes of tus uploads in progress: one file per upload,
// <data-dir>/uploads/<upload_id>.part. Only bytes fsync'd before the
// database's upload_offset moves count; anything past that offset in the file
// (a PATCH cut off, a crash) is cut away by the next write.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "shenbao/result.h"

namespace shenbao::intake {

class UploadFiles {
public:
    explicit UploadFiles(std::string dir) : dir_(std::move(dir)) {}
    // Creates the folder (mode 0700) when missing.
    Status ensure() const;
    std::string path_of(const std::string& upload_id) const { return dir_ + "/" + upload_id + ".part"; }
    // A new empty file, durable (file and folder fsync'd). Refuses an existing one.
    Status create(const std::string& upload_id) const;
    // Removes an upload's file; a missing file is not an error.
    void remove(const std::string& upload_id) const;
    // Removes every *.part file whose id is not in `live` (left by a crash
    // between the database and the file system). Returns how many went.
    int sweep(const std::vector<std::string>& live) const;
    // Bytes free for unprivileged users on the folder's file system.
    std::uint64_t free_bytes() const;

private:
    std::string dir_;
};

// Writes one PATCH body into an upload file at a fixed offset, hashing it
// with SHA-1 (tus checksum extension) as it goes. Nothing counts until
// make_durable(); rollback() cuts the file back to where this chunk began.
class ChunkWriter {
public:
    // Opens the upload's file and cuts it to `offset` (dropping bytes no
    // offset vouches for). Io errors name the file.
    static Result<ChunkWriter> open(const std::string& path, std::int64_t offset);
    ChunkWriter(ChunkWriter&& other) noexcept;
    ChunkWriter& operator=(ChunkWriter&&) = delete;
    ChunkWriter(const ChunkWriter&) = delete;
    ~ChunkWriter();

    // Appends bytes after what this chunk wrote so far; false on a write error.
    bool write(const char* data, std::size_t size);
    std::int64_t written() const { return written_; }
    // SHA-1 of everything written so far (call once, at the end).
    std::array<std::uint8_t, 20> sha1();
    // fsync: the written bytes survive a crash from here on.
    Status make_durable();
    // Cuts the file back to the chunk's start offset.
    void rollback();
    const std::string& error() const { return error_; }

private:
    ChunkWriter(int fd, std::string path, std::int64_t offset, void* sha);
    int fd_ = -1;
    std::string path_;
    std::int64_t offset_ = 0, written_ = 0;
    void* sha_ = nullptr;  // EVP_MD_CTX*
    std::string error_;
};

// A whole upload file mapped read-only, for decoding at commit.
class MappedFile {
public:
    static Result<MappedFile> open(const std::string& path, std::int64_t expected_size);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&&) = delete;
    MappedFile(const MappedFile&) = delete;
    ~MappedFile();
    std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

private:
    MappedFile(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace shenbao::intake
