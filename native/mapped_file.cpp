// Memory-mapped files: a uint8 tensor over a file's bytes with no copy (the trainer's decoded
// image cache, larger than memory), paging hints for the rows a loader is about to gather or has
// done with, the space left on a file system, and a tensor's data pointer.
//
// The mapping is MAP_PRIVATE with PROT_READ | PROT_WRITE: pages only read stay the page cache's
// own (counted in RssFile, not RssAnon, and dropped by the kernel under memory pressure like any
// clean page cache), and a stray in-place write makes a private copy of its page that never
// reaches the file. MAP_NORESERVE keeps a private writable map of a file larger than RAM + swap
// from being refused by the kernel's overcommit heuristic (vm.overcommit_memory 0): nothing is
// reserved until a page is written. The file descriptor is closed as soon as the map exists (the
// mapping holds the file, also after an unlink); the mapping is unmapped by the storage's deleter
// when the last tensor or view over it is freed. A file truncated by another process while mapped
// makes reading the lost pages fault (SIGBUS): cache files are written once, by rename.
#include "common.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

// One mmap: what the storage's deleter unmaps. `data` is where the tensor's bytes begin (base
// plus the offset's distance above its page), `bytes` how many there are.
struct Mapping {
  void* base = nullptr;
  size_t len = 0;  // the length given to mmap: (data - base) + bytes
  uintptr_t data = 0;
  size_t bytes = 0;
};

// The storage's deleter, and the mark by which tt_advise_rows knows a storage is a mapping.
void unmap(void* ctx) {
  auto* m = static_cast<Mapping*>(ctx);
  if (m->base != nullptr) munmap(m->base, m->len);
  delete m;
}

// The mapping behind t's storage, or null for memory the shim did not map.
const Mapping* mapping_of(const at::Tensor& t) {
  if (!t.has_storage()) return nullptr;
  const auto& dp = t.storage().data_ptr();
  if (dp.get_deleter() != &unmap) return nullptr;
  return static_cast<const Mapping*>(dp.get_context());
}

uintptr_t page_size() {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::string errno_text(int err) { return std::strerror(err); }

// Closes a descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void madvise_or_throw(uintptr_t begin, uintptr_t end, int advice, const char* name) {
  if (end <= begin) return;
  if (madvise(reinterpret_cast<void*>(begin), end - begin, advice) != 0) {
    const int err = errno;
    throw std::runtime_error(std::string("madvise(") + name + ") failed: " + errno_text(err));
  }
}

}  // namespace

extern "C" {

int32_t tt_map_file(const char* path, int64_t offset, const int64_t* shape, int64_t ndim,
                    tt_tensor* out) {
  PROTECT({
    if (path == nullptr) throw std::invalid_argument("null path");
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    if (offset < 0) {
      throw std::invalid_argument("offset must be >= 0, got " + std::to_string(offset));
    }
    const auto sizes = tt::dims(shape, ndim);
    int64_t bytes = 1;
    for (size_t i = 0; i < sizes.size(); i++) {
      if (sizes[i] < 0) {
        throw std::invalid_argument("shape[" + std::to_string(i) + "] must be >= 0, got " +
                                    std::to_string(sizes[i]));
      }
      if (__builtin_mul_overflow(bytes, sizes[i], &bytes)) {
        throw std::invalid_argument("shape " + c10::str(sizes) + " holds more than 2^63 bytes");
      }
    }
    int64_t need = 0;
    if (__builtin_add_overflow(offset, bytes, &need)) {
      throw std::invalid_argument("offset " + std::to_string(offset) + " + " +
                                  std::to_string(bytes) + " bytes is past 2^63");
    }
    Fd f{open(path, O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
      const int err = errno;
      throw std::runtime_error(std::string(path) + ": cannot open: " + errno_text(err));
    }
    struct stat st {};
    if (fstat(f.fd, &st) != 0) {
      const int err = errno;
      throw std::runtime_error(std::string(path) + ": cannot stat: " + errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
      throw std::invalid_argument(std::string(path) + ": not a regular file" +
                                  (S_ISDIR(st.st_mode) ? " (a directory)" : ""));
    }
    if (st.st_size < need) {
      throw std::runtime_error(std::string(path) + ": holds " + std::to_string(st.st_size) +
                               " bytes, the map needs " + std::to_string(need) +
                               ": the cache file is truncated; delete it to rebuild");
    }
    const auto opts = at::TensorOptions().dtype(at::kByte);
    if (bytes == 0) {  // mmap refuses length 0: an empty tensor of the shape, nothing mapped
      tt::put(out, at::empty(sizes, opts));
      return 0;
    }
    const uintptr_t page = page_size();
    const auto off = static_cast<uintptr_t>(offset);
    const uintptr_t below = off % page;  // mmap's offset must be page aligned
    auto m = std::make_unique<Mapping>();
    m->len = static_cast<size_t>(below + static_cast<uintptr_t>(bytes));
    void* p = mmap(nullptr, m->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, f.fd,
                   static_cast<off_t>(off - below));
    if (p == MAP_FAILED) {
      const int err = errno;
      throw std::runtime_error(
          std::string(path) + ": mmap of " + std::to_string(bytes) + " bytes at offset " +
          std::to_string(offset) + " failed: " + errno_text(err) +
          (err == ENOMEM ? " (the address space or vm.max_map_count is exhausted, or "
                           "vm.overcommit_memory 2 counts the private map against the commit "
                           "limit)"
                         : ""));
    }
    m->base = p;
    m->data = reinterpret_cast<uintptr_t>(p) + below;
    m->bytes = static_cast<size_t>(bytes);
    void* data = reinterpret_cast<void*>(m->data);
    // The storage owns the mapping from here (its deleter unmaps it); until make_tensor returns,
    // the unique_ptr does.
    auto t = at::for_blob(data, sizes).context(m.get(), &unmap).options(opts).make_tensor();
    m.release();
    tt::put(out, std::move(t));
  })
}

int32_t tt_advise_rows(tt_tensor h, const int64_t* rows, int64_t n, int32_t advice) {
  PROTECT({
    const auto& t = tt::T(h);
    if (!t.device().is_cpu() || t.layout() != at::kStrided) {
      throw std::invalid_argument("advise_rows needs a dense CPU tensor, got one on " +
                                  t.device().str());
    }
    if (t.dim() == 0) throw std::invalid_argument("advise_rows needs rows: the tensor is 0-dim");
    if (!t.is_contiguous()) {
      throw std::invalid_argument("advise_rows needs a contiguous tensor (each row one byte "
                                  "range); call .contiguous() first");
    }
    const Mapping* m = mapping_of(t);
    const uintptr_t page = page_size();
    int mode = 0;
    const char* name = "";
    switch (advice) {
      case TT_ADVISE_NORMAL: mode = MADV_NORMAL; name = "MADV_NORMAL"; break;
      case TT_ADVISE_RANDOM: mode = MADV_RANDOM; name = "MADV_RANDOM"; break;
      case TT_ADVISE_SEQUENTIAL: mode = MADV_SEQUENTIAL; name = "MADV_SEQUENTIAL"; break;
      case TT_ADVISE_WILLNEED: mode = MADV_WILLNEED; name = "MADV_WILLNEED"; break;
      case TT_ADVISE_DONTNEED: mode = MADV_DONTNEED; name = "MADV_DONTNEED"; break;
      default:
        throw std::invalid_argument("unknown advice code " + std::to_string(advice));
    }
    if (advice == TT_ADVISE_NORMAL || advice == TT_ADVISE_RANDOM ||
        advice == TT_ADVISE_SEQUENTIAL) {
      // The read-ahead policy of the whole mapping (one VMA: nothing is split). On memory the
      // shim did not map they would only steer swap read-ahead, and a hint on part of a heap
      // mapping splits it: nothing is done.
      if (m != nullptr) {
        const auto base = reinterpret_cast<uintptr_t>(m->base);
        madvise_or_throw(base, base + m->len, mode, name);
      }
      return 0;
    }
    if (n < 0) throw std::invalid_argument("negative row count " + std::to_string(n));
    if (n > 0 && rows == nullptr) throw std::invalid_argument("null rows pointer");
    const int64_t nrows = t.size(0);
    for (int64_t i = 0; i < n; i++) {
      if (rows[i] < 0 || rows[i] >= nrows) {
        throw std::out_of_range("rows[" + std::to_string(i) + "] = " + std::to_string(rows[i]) +
                                " is out of range for a tensor of " + std::to_string(nrows) +
                                " rows");
      }
    }
    // DONTNEED on memory the shim did not map would zero anonymous pages (the tensor's and its
    // neighbours'): nothing is done.
    if (advice == TT_ADVISE_DONTNEED && m == nullptr) return 0;
    const auto row_bytes = static_cast<uintptr_t>(t.numel() / nrows) * t.element_size();
    if (n == 0 || row_bytes == 0) return 0;
    const auto data = reinterpret_cast<uintptr_t>(t.data_ptr());
    // Each listed row's byte range, sorted and merged where they touch or overlap.
    std::vector<std::pair<uintptr_t, uintptr_t>> spans;
    spans.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) {
      const uintptr_t b = data + static_cast<uintptr_t>(rows[i]) * row_bytes;
      spans.emplace_back(b, b + row_bytes);
    }
    std::sort(spans.begin(), spans.end());
    std::vector<std::pair<uintptr_t, uintptr_t>> merged;
    for (const auto& s : spans) {
      if (!merged.empty() && s.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, s.second);
      } else {
        merged.push_back(s);
      }
    }
    if (advice == TT_ADVISE_WILLNEED) {
      // Every page a listed row touches (read-ahead never changes a byte); ranges that meet
      // after rounding out are merged so each page is asked for once.
      uintptr_t b = 0, e = 0;
      for (const auto& s : merged) {
        const uintptr_t pb = s.first / page * page;
        const uintptr_t pe = (s.second + page - 1) / page * page;
        if (e != 0 && pb <= e) {
          e = std::max(e, pe);
          continue;
        }
        if (e != 0) {
          if (m != nullptr) madvise_or_throw(b, e, mode, name);
          else madvise(reinterpret_cast<void*>(b), e - b, mode);  // a hint: errors ignored
        }
        b = pb;
        e = pe;
      }
      if (e != 0) {
        if (m != nullptr) madvise_or_throw(b, e, mode, name);
        else madvise(reinterpret_cast<void*>(b), e - b, mode);
      }
      return 0;
    }
    // DONTNEED on the mapping: only pages whose every byte of the file's range belongs to the
    // listed rows (a page shared with an unlisted row is kept: a write to that row stays). The
    // bytes below the first row and above the last, inside the first and last pages, belong to
    // no row, so the mapping's edges round outward.
    const uintptr_t lo = m->data, hi = m->data + m->bytes;
    for (const auto& s : merged) {
      const uintptr_t b = s.first == lo ? s.first / page * page : (s.first + page - 1) / page * page;
      const uintptr_t e = s.second == hi ? (s.second + page - 1) / page * page : s.second / page * page;
      madvise_or_throw(b, e, mode, name);
    }
  })
}

int32_t tt_disk_available(const char* path, int64_t* out) {
  PROTECT({
    if (path == nullptr) throw std::invalid_argument("null path");
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    struct statvfs st {};
    if (statvfs(path, &st) != 0) {
      const int err = errno;
      throw std::runtime_error(std::string(path) + ": " + errno_text(err));
    }
    const auto frsize = static_cast<uint64_t>(st.f_frsize != 0 ? st.f_frsize : st.f_bsize);
    const auto avail = static_cast<uint64_t>(st.f_bavail) * frsize;
    *out = avail > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(avail);
  })
}

int32_t tt_data_ptr(tt_tensor h, void** out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    *out = tt::T(h).data_ptr();
  })
}

}  // extern "C"
