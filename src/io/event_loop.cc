// EventLoop implementation: epoll + eventfd (cross-thread wake-up) + timerfd (timers).
#include "io/event_loop.h"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <condition_variable>

#include "base/check.h"
#include "base/clock.h"
#include "base/logging.h"

namespace nightjar::io {

class EventLoop::Waker final : public Watcher {
 public:
  explicit Waker(EventLoop* loop) : loop_(loop) {}
  void OnEvents(uint32_t) override {
    uint64_t v;
    while (::read(loop_->wake_fd_.get(), &v, sizeof(v)) > 0) {
    }
    loop_->RunPostedTasks();
  }

 private:
  EventLoop* loop_;
};

class EventLoop::TimerWatcher final : public Watcher {
 public:
  explicit TimerWatcher(EventLoop* loop) : loop_(loop) {}
  void OnEvents(uint32_t) override {
    uint64_t v;
    while (::read(loop_->timer_fd_.get(), &v, sizeof(v)) > 0) {
    }
    loop_->armed_ns_ = 0;
    loop_->RunDueTimers();
  }

 private:
  EventLoop* loop_;
};

EventLoop::EventLoop()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      timer_fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  CHECK(epoll_fd_.valid() && wake_fd_.valid() && timer_fd_.valid(), "event loop fds");
  auto* waker = new Waker(this);
  auto* timer = new TimerWatcher(this);
  CHECK(Watch(wake_fd_.get(), EPOLLIN, waker).ok(), "watch eventfd");
  CHECK(Watch(timer_fd_.get(), EPOLLIN, timer).ok(), "watch timerfd");
  owned_watchers_.emplace_back(waker);
  owned_watchers_.emplace_back(timer);
}

EventLoop::~EventLoop() = default;

void EventLoop::Run() {
  thread_id_.store(std::this_thread::get_id());
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  while (!stop_.load(std::memory_order_acquire)) {
    int n = ::epoll_wait(epoll_fd_.get(), events, kMaxEvents, -1);
    if (n < 0) {
      CHECK(errno == EINTR, "epoll_wait failed");
      continue;
    }
    // A handler may unwatch (and free) a watcher whose event is still ahead in this batch;
    // Unwatch() clears such entries (libuv does the same), so they are skipped.
    batch_ = events;
    batch_size_ = n;
    for (batch_next_ = 0; batch_next_ < n;) {
      const epoll_event& e = events[batch_next_++];
      if (e.data.ptr != nullptr) static_cast<Watcher*>(e.data.ptr)->OnEvents(e.events);
    }
    batch_size_ = 0;
  }
  RunPostedTasks();
}

void EventLoop::Stop() {
  stop_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
}

void EventLoop::Post(Task task) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(task));
  }
  // Only the first post after a drain needs a wake-up: later ones ride along.
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
  }
}

void EventLoop::Dispatch(Task task) {
  if (InLoopThread()) {
    task();
  } else {
    Post(std::move(task));
  }
}

void EventLoop::RunAndWait(const Task& task) {
  if (InLoopThread()) {
    task();
    return;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Post([&] {
    task();
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
}

void EventLoop::RunPostedTasks() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

Status EventLoop::Watch(int fd, uint32_t events, Watcher* watcher) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watcher;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Status::FromErrno("epoll_ctl ADD");
  }
  std::lock_guard<std::mutex> lock(watchers_mu_);
  watchers_[fd] = watcher;
  return Status::Ok();
}

Status EventLoop::Modify(int fd, uint32_t events, Watcher* watcher) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watcher;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return Status::FromErrno("epoll_ctl MOD");
  }
  return Status::Ok();
}

void EventLoop::Unwatch(int fd) {
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  Watcher* watcher = nullptr;
  {
    std::lock_guard<std::mutex> lock(watchers_mu_);
    auto it = watchers_.find(fd);
    if (it == watchers_.end()) return;
    watcher = it->second;
    watchers_.erase(it);
  }
  // Only the loop thread handles a batch; from another thread there is none to clean.
  if (!InLoopThread()) return;
  for (int i = batch_next_; i < batch_size_; ++i) {
    if (batch_[i].data.ptr == watcher) batch_[i].data.ptr = nullptr;
  }
}

EventLoop::TimerId EventLoop::RunAt(int64_t when_ns, Task task) {
  TimerId id = next_timer_id_++;
  timers_.emplace(std::make_pair(when_ns, id), std::move(task));
  timer_deadline_.emplace(id, when_ns);
  if (armed_ns_ == 0 || when_ns < armed_ns_) ArmTimerFd();
  return id;
}

EventLoop::TimerId EventLoop::RunAfterMs(int64_t ms, Task task) {
  return RunAt(MonotonicNowNs() + ms * 1'000'000, std::move(task));
}

void EventLoop::Cancel(TimerId id) {
  auto it = timer_deadline_.find(id);
  if (it == timer_deadline_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_deadline_.erase(it);
}

void EventLoop::ArmTimerFd() {
  if (timers_.empty()) return;
  int64_t when = timers_.begin()->first.first;
  armed_ns_ = when;
  itimerspec spec{};
  if (when <= 0) when = 1;
  spec.it_value.tv_sec = when / 1'000'000'000;
  spec.it_value.tv_nsec = when % 1'000'000'000;
  CHECK(::timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) == 0,
        "timerfd_settime");
}

void EventLoop::RunDueTimers() {
  int64_t now = MonotonicNowNs();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadline_.erase(node.key().second);
    node.mapped()();
  }
  ArmTimerFd();
}

LoopThreads::LoopThreads(int count) {
  CHECK(count >= 1, "need at least one loop");
  for (int i = 0; i < count; ++i) loops_.push_back(std::make_unique<EventLoop>());
}

LoopThreads::~LoopThreads() { StopAndJoin(); }

void LoopThreads::Start() {
  for (auto& l : loops_) {
    EventLoop* loop = l.get();
    threads_.emplace_back([loop] { loop->Run(); });
  }
  // Return only once every loop runs, so InLoopThread() is settled for all callers.
  for (auto& l : loops_) l->RunAndWait([] {});
}

void LoopThreads::StopAndJoin() {
  for (auto& l : loops_) l->Stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace nightjar::io
