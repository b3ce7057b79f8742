// CpuMeter implementation (see cpu_meter.h).
#include "worker/cpu_meter.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace nightjar::worker {

void CpuMeter::Open() {
  fd_ = UniqueFd(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC));
  if (fd_.valid()) {
    char buf[96];
    if (::pread(fd_.get(), buf, sizeof(buf) - 1, 0) <= 0) fd_ = UniqueFd();
  }
}

CpuMeter::Sample CpuMeter::Read() const {
  Sample s;
  if (fd_.valid()) {
    char buf[96];
    ssize_t n = ::pread(fd_.get(), buf, sizeof(buf) - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      char* end = nullptr;
      s.on_cpu_ns = std::strtoll(buf, &end, 10);
      s.run_queue_ns = std::strtoll(end, nullptr, 10);
      return s;
    }
  }
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  s.on_cpu_ns = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  return s;
}

int64_t OffCpuNs(int64_t wall_ns, int64_t child_wait_ns, const CpuMeter::Sample& start,
                 const CpuMeter::Sample& end) {
  const int64_t busy = (end.on_cpu_ns - start.on_cpu_ns) + (end.run_queue_ns - start.run_queue_ns);
  return std::max<int64_t>(0, wall_ns - child_wait_ns - busy);
}

}  // namespace nightjar::worker
