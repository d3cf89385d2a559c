// A size-keyed caching allocator for libtorch's CPU tensors (the CPU twin of
// PyTorch's CUDA caching allocator): blocks of at least kMinCached bytes are
// mmapped, and when a tensor frees one it goes to a free list of its exact
// (page-rounded) size instead of back to the kernel, so the next step's
// same-shaped activation reuses its mapped pages with no page faults. Smaller
// blocks go to libtorch's own allocator (malloc).
//
// Only tensors use this cache, so glibc's malloc keeps its default policy for
// everything else in the process (V8's ArrayBuffers, Rust's buffers): those
// are still mmapped and unmapped on free, never interleaved with the tensors.
// (The shim used to set glibc's mmap threshold to 1 GiB and turn trimming off
// for the whole process; a checkpoint's ArrayBuffers, freed by the GC at some
// later step, then landed in the middle of the tensors' heap and the heap grew
// by about one activation after each one.)
//
// Exact-size reuse cannot fragment: the cache maps, per size, the most blocks
// of that size ever live at once, so a loop with a fixed set of shapes (the
// training step, the kNN monitor's batches) stops mapping after its first pass.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <torch/version.h>

#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

// libtorch 2.3 made Allocator::allocate non-const and added copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define TT_ALLOCATE_CONST
#define TT_ALLOCATOR_COPY_DATA 1
#else
#define TT_ALLOCATE_CONST const
#define TT_ALLOCATOR_COPY_DATA 0
#endif

namespace {

constexpr size_t kMinCached = size_t(1) << 20;  // 1 MiB
constexpr size_t kPage = 4096;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* small) : small_(small) {}

  c10::DataPtr allocate(size_t n) TT_ALLOCATE_CONST override {
    if (n < kMinCached) return small_->allocate(n);
    const size_t size = (n + kPage - 1) & ~(kPage - 1);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(m_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
      }
    }
    if (p == nullptr) {
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        throw std::runtime_error("CPU tensor allocation of " + std::to_string(size) +
                                 " bytes failed (mmap): out of memory");
      }
      std::lock_guard<std::mutex> lock(m_);
      mapped_ += size;
      ++maps_;
    }
    std::lock_guard<std::mutex> lock(m_);
    live_.emplace(p, size);
    return {p, p, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

#if TT_ALLOCATOR_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#endif

  // raw_allocate / raw_deallocate (ideep's buffers) free by pointer alone.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

  void set_caching(bool on) {
    std::lock_guard<std::mutex> lock(m_);
    caching_ = on;
    if (!on) drop_cached();
  }

  // Unmaps every cached (free) block; live blocks are untouched.
  void empty() {
    std::lock_guard<std::mutex> lock(m_);
    drop_cached();
  }

  void stats(int64_t* out) const {
    std::lock_guard<std::mutex> lock(m_);
    out[0] = static_cast<int64_t>(mapped_);
    out[1] = static_cast<int64_t>(cached_);
    out[2] = static_cast<int64_t>(maps_);
    out[3] = static_cast<int64_t>(live_.size());
  }

  static CachingCpuAllocator& instance();

 private:
  static void release(void* p) { instance().give_back(p); }

  void give_back(void* p) {
    std::unique_lock<std::mutex> lock(m_);
    auto it = live_.find(p);
    if (it == live_.end()) {  // a small block (raw_deallocate passes those here too)
      lock.unlock();
      small_->raw_deleter()(p);
      return;
    }
    const size_t size = it->second;
    live_.erase(it);
    if (caching_) {
      free_[size].push_back(p);
      cached_ += size;
    } else {
      munmap(p, size);
      mapped_ -= size;
    }
  }

  void drop_cached() {
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) munmap(p, size);
      mapped_ -= size * blocks.size();
      cached_ -= size * blocks.size();
    }
    free_.clear();
  }

  c10::Allocator* small_;
  mutable std::mutex m_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable size_t mapped_ = 0;  // bytes mapped: live + cached
  mutable size_t cached_ = 0;  // bytes mapped and free
  mutable size_t maps_ = 0;    // mmap calls so far
  bool caching_ = true;
};

CachingCpuAllocator& CachingCpuAllocator::instance() {
  // Never destroyed: tensors may be freed during static destruction.
  static auto* a = [] {
    auto* alloc = new CachingCpuAllocator(c10::GetDefaultCPUAllocator());
    c10::SetCPUAllocator(alloc, /*priority=*/1);
    return alloc;
  }();
  return *a;
}

}  // namespace

extern "C" {

int32_t tt_cpu_memory_caching(int32_t on, int32_t* applied) {
  PROTECT({
    CachingCpuAllocator::instance().set_caching(on != 0);
    if (applied) *applied = c10::GetCPUAllocator() == &CachingCpuAllocator::instance();
  })
}

int32_t tt_cpu_cache_stats(int64_t* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    CachingCpuAllocator::instance().stats(out);
  })
}

int32_t tt_cpu_empty_cache(void) { PROTECT(CachingCpuAllocator::instance().empty()) }

}  // extern "C"
