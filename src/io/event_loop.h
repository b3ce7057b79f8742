// EventLoop: one epoll-based event loop per I/O thread (DESIGN.md §5), in the spirit of
// Redis's ae.c: readiness callbacks, one-shot timers, and a cross-thread task queue.
//
// Thread rules: Post(), Stop(), InLoopThread() and the fd registration methods (Watch,
// Modify, Unwatch: epoll_ctl is thread-safe, and components register their fds while the
// loops already run) may be called from any thread. Every other method must be called on
// the loop's own thread (the one inside Run()), or before Run() starts. Handlers are
// borrowed: a Watcher must stay alive until Unwatch()ed.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/fd.h"
#include "base/status.h"

namespace nightjar::io {

// Receives readiness events for one fd. Implementations are owned by their users.
class Watcher {
 public:
  virtual ~Watcher() = default;
  // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR, ...).
  virtual void OnEvents(uint32_t events) = 0;
};

class EventLoop {
 public:
  using Task = std::function<void()>;
  using TimerId = uint64_t;

  EventLoop();  // crashes if epoll/eventfd/timerfd cannot be created (startup only)
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop(). Runs tasks posted before Stop() was called.
  void Run();
  void Stop();
  // Queues `task` to run on the loop thread (wakes it). Never blocks for long.
  void Post(Task task);
  // Runs `task` now if called on the loop thread, else Post()s it.
  void Dispatch(Task task);
  // Runs `task` on the loop thread and returns once it has run. For shutdown paths on
  // the owning thread; the loop must be running (or this is the loop thread).
  void RunAndWait(const Task& task);
  // False for every thread until Run() starts.
  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

  // fd registration. Fails with errno from epoll_ctl.
  Status Watch(int fd, uint32_t events, Watcher* watcher);
  Status Modify(int fd, uint32_t events, Watcher* watcher);
  // Stops events for fd. Events of its watcher still pending in the batch being handled
  // are dropped, so the watcher may be freed right after (even by the handler running now).
  void Unwatch(int fd);

  // One-shot timer at absolute CLOCK_MONOTONIC time `when_ns`. Returns an id for Cancel.
  TimerId RunAt(int64_t when_ns, Task task);
  TimerId RunAfterMs(int64_t ms, Task task);
  void Cancel(TimerId id);

 private:
  class Waker;
  class TimerWatcher;
  void RunPostedTasks();
  void RunDueTimers();
  void ArmTimerFd();

  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;
  UniqueFd timer_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_id_;

  std::mutex mu_;
  std::vector<Task> posted_;  // guarded by mu_

  // Timers keyed by (deadline, id) so equal deadlines keep insertion order.
  std::map<std::pair<int64_t, TimerId>, Task> timers_;
  std::map<TimerId, int64_t> timer_deadline_;
  TimerId next_timer_id_ = 1;
  int64_t armed_ns_ = 0;
  std::vector<std::unique_ptr<Watcher>> owned_watchers_;  // waker and timer watcher
  std::mutex watchers_mu_;  // Watch() also runs on other threads (start-up wiring)
  std::unordered_map<int, Watcher*> watchers_;  // fd -> its watcher (Unwatch); watchers_mu_
  epoll_event* batch_ = nullptr;  // the events Run() is handling: [batch_next_, batch_size_)
  int batch_next_ = 0;            // left to handle
  int batch_size_ = 0;
};

// A set of EventLoops, each running on its own thread.
class LoopThreads {
 public:
  explicit LoopThreads(int count);
  ~LoopThreads();  // stops and joins
  void Start();
  void StopAndJoin();
  EventLoop* loop(size_t i) { return loops_[i].get(); }
  size_t size() const { return loops_.size(); }
  // Round-robin choice for new connections or channels.
  EventLoop* Next() { return loops_[next_++ % loops_.size()].get(); }

 private:
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace nightjar::io
