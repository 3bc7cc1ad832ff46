// Upload files: creation, chunk writes with SHA-1, durability, sweeping, mapping.
#include "upload_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <openssl/evp.h>

namespace shenbao::intake {
namespace {

Error io_error(const std::string& path, const char* what, int err = errno) {
    return Error{err == ENOSPC ? ErrorCode::DiskFull : ErrorCode::Io, path + ": " + what + ": " + std::strerror(err)};
}

void sync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

}  // namespace

Status UploadFiles::ensure() const {
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return io_error(dir_, "cannot create the uploads folder");
    return ok_status();
}

Status UploadFiles::create(const std::string& upload_id) const {
    const std::string path = path_of(upload_id);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return io_error(path, "cannot create the upload file");
    bool ok = ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        return io_error(path, "cannot create the upload file", err);
    }
    sync_dir(dir_);
    return ok_status();
}

void UploadFiles::remove(const std::string& upload_id) const { ::unlink(path_of(upload_id).c_str()); }

int UploadFiles::sweep(const std::vector<std::string>& live) const {
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return 0;
    std::vector<std::string> doomed;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 6 || name.substr(name.size() - 5) != ".part") continue;
        std::string id = name.substr(0, name.size() - 5);
        if (std::find(live.begin(), live.end(), id) == live.end()) doomed.push_back(name);
    }
    ::closedir(d);
    for (const std::string& name : doomed) ::unlink((dir_ + "/" + name).c_str());
    if (!doomed.empty()) sync_dir(dir_);
    return static_cast<int>(doomed.size());
}

std::uint64_t UploadFiles::free_bytes() const {
    struct statvfs s {};
    if (::statvfs(dir_.c_str(), &s) != 0) return 0;
    return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

// [SECTION] ChunkWriter

ChunkWriter::ChunkWriter(int fd, std::string path, std::int64_t offset, void* sha)
    : fd_(fd), path_(std::move(path)), offset_(offset), sha_(sha) {}

ChunkWriter::ChunkWriter(ChunkWriter&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), offset_(o.offset_), written_(o.written_), sha_(o.sha_), error_(std::move(o.error_)) {
    o.fd_ = -1;
    o.sha_ = nullptr;
}

ChunkWriter::~ChunkWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (sha_) EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha_));
}

Result<ChunkWriter> ChunkWriter::open(const std::string& path, std::int64_t offset) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return io_error(path, "cannot open the upload file (was the data folder changed?)");
    if (::ftruncate(fd, offset) != 0) {
        Error e = io_error(path, "cannot cut the upload file to its offset");
        ::close(fd);
        return e;
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) != 1) {
        if (ctx) EVP_MD_CTX_free(ctx);
        ::close(fd);
        return Error{ErrorCode::Internal, "OpenSSL cannot compute SHA-1 here"};
    }
    return ChunkWriter(fd, path, offset, ctx);
}

bool ChunkWriter::write(const char* data, std::size_t size) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha_), data, size);
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pwrite(fd_, data + done, size - done, offset_ + written_ + static_cast<std::int64_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            error_ = io_error(path_, "cannot write the upload file").message;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    written_ += static_cast<std::int64_t>(size);
    return true;
}

std::array<std::uint8_t, 20> ChunkWriter::sha1() {
    std::array<std::uint8_t, 20> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(sha_), out.data(), &len);
    return out;
}

Status ChunkWriter::make_durable() {
    if (::fdatasync(fd_) != 0) return io_error(path_, "cannot make the upload file durable");
    return ok_status();
}

void ChunkWriter::rollback() {
    if (::ftruncate(fd_, offset_) == 0) ::fdatasync(fd_);
}

// [SECTION] MappedFile

Result<MappedFile> MappedFile::open(const std::string& path, std::int64_t expected_size) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(path, "cannot open the upload file");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        Error e = io_error(path, "cannot read the upload file");
        ::close(fd);
        return e;
    }
    if (st.st_size < expected_size) {
        ::close(fd);
        return Error{ErrorCode::Corrupt, path + ": holds " + std::to_string(st.st_size) + " bytes, fewer than the " +
                                             std::to_string(expected_size) + " its upload says were received"};
    }
    if (expected_size == 0) {
        ::close(fd);
        return MappedFile(nullptr, 0);
    }
    void* p = ::mmap(nullptr, static_cast<std::size_t>(expected_size), PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) return io_error(path, "cannot map the upload file", err);
    return MappedFile(static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(expected_size));
}

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

}  // namespace shenbao::intake
