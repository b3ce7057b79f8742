#include "io/event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"

namespace nightjar::io {
namespace {

constexpr auto kWait = std::chrono::seconds(10);

// A one-shot flag a test can wait on with a deadline.
class Signal {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

// Runs one EventLoop on its own thread. Start() returns once Run() is executing tasks,
// so InLoopThread() is false on the test thread from then on.
class RunningLoop {
 public:
  RunningLoop() {
    thread_ = std::thread([this] { loop_.Run(); });
    Signal started;
    loop_.Post([&] { started.Notify(); });
    EXPECT_TRUE(started.Wait());
  }
  ~RunningLoop() {
    loop_.Stop();
    thread_.join();
  }
  EventLoop* loop() { return &loop_; }
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  EventLoop loop_;
  std::thread thread_;
};

TEST(EventLoopTest, PostFromAnotherThreadRunsOnLoopThread) {
  RunningLoop r;
  EXPECT_FALSE(r.loop()->InLoopThread());
  Signal done;
  bool in_loop = false;
  std::thread::id ran_on;
  r.loop()->Post([&] {
    in_loop = r.loop()->InLoopThread();
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  ASSERT_TRUE(done.Wait());
  EXPECT_TRUE(in_loop);
  EXPECT_EQ(ran_on, r.thread_id());
}

TEST(EventLoopTest, PostedTasksRunInOrder) {
  RunningLoop r;
  std::vector<int> order;
  Signal done;
  for (int i = 0; i < 100; ++i) r.loop()->Post([&order, i] { order.push_back(i); });
  r.loop()->Post([&] { done.Notify(); });
  ASSERT_TRUE(done.Wait());
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(EventLoopTest, DispatchRunsInlineOnLoopThreadAndPostsOtherwise) {
  RunningLoop r;
  Signal done;
  bool ran_before_return = false, inner_in_loop = false;
  r.loop()->Post([&] {
    bool ran = false;
    r.loop()->Dispatch([&] { ran = true; });
    ran_before_return = ran;
    done.Notify();
  });
  ASSERT_TRUE(done.Wait());
  EXPECT_TRUE(ran_before_return);

  Signal done2;
  r.loop()->Dispatch([&] {
    inner_in_loop = r.loop()->InLoopThread();
    done2.Notify();
  });
  ASSERT_TRUE(done2.Wait());
  EXPECT_TRUE(inner_in_loop);
}

TEST(EventLoopTest, RunAndWaitBlocksUntilTaskHasRun) {
  RunningLoop r;
  int value = 0;
  bool in_loop = false, nested_inline = false;
  r.loop()->RunAndWait([&] {
    in_loop = r.loop()->InLoopThread();
    // On the loop thread RunAndWait runs inline instead of deadlocking.
    bool ran = false;
    r.loop()->RunAndWait([&] { ran = true; });
    nested_inline = ran;
    value = 42;
  });
  EXPECT_EQ(value, 42);  // no extra synchronization: RunAndWait returned after the task
  EXPECT_TRUE(in_loop);
  EXPECT_TRUE(nested_inline);
}

TEST(EventLoopTest, TimersFireInDeadlineOrder) {
  RunningLoop r;
  std::vector<int> order;
  Signal done;
  r.loop()->RunAndWait([&] {
    EventLoop* l = r.loop();
    int64_t t0 = MonotonicNowNs() + 20'000'000;  // all armed before any is due
    l->RunAt(t0 + 3'000'000, [&] { order.push_back(4); });
    l->RunAt(t0 + 1'000'000, [&] { order.push_back(2); });
    l->RunAt(t0, [&] { order.push_back(1); });
    l->RunAt(t0 + 2'000'000, [&] { order.push_back(3); });
    l->RunAt(t0 + 2'000'000, [&] { order.push_back(30); });  // same deadline: FIFO
    l->RunAt(t0 + 5'000'000, [&] { done.Notify(); });
  });
  ASSERT_TRUE(done.Wait());  // the pushes happen-before the notify
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 30, 4}));
}

TEST(EventLoopTest, CancelPreventsFiring) {
  RunningLoop r;
  bool cancelled_ran = false, kept_ran = false;
  Signal done;
  r.loop()->RunAndWait([&] {
    EventLoop* l = r.loop();
    EventLoop::TimerId a = l->RunAfterMs(1, [&] { cancelled_ran = true; });
    EventLoop::TimerId b = l->RunAfterMs(2, [&] { kept_ran = true; });
    EXPECT_NE(a, b);
    l->RunAfterMs(20, [&] { done.Notify(); });
    l->Cancel(a);
    l->Cancel(a);       // twice: no-op
    l->Cancel(987654);  // unknown: no-op
  });
  ASSERT_TRUE(done.Wait());
  EXPECT_FALSE(cancelled_ran);
  EXPECT_TRUE(kept_ran);  // due before the final timer, so it ran first
}

TEST(EventLoopTest, TimerScheduledFromTimerFires) {
  RunningLoop r;
  std::vector<std::string> log;
  Signal done;
  r.loop()->Post([&] {
    r.loop()->RunAfterMs(1, [&] {
      log.push_back("outer");
      r.loop()->RunAfterMs(1, [&] {
        log.push_back("inner");
        r.loop()->RunAt(0, [&] {  // already due
          log.push_back("past");
          done.Notify();
        });
      });
    });
  });
  ASSERT_TRUE(done.Wait());
  EXPECT_EQ(log, (std::vector<std::string>{"outer", "inner", "past"}));
}

class PipeWatcher : public Watcher {
 public:
  PipeWatcher(EventLoop* loop, int fd) : loop_(loop), fd_(fd) {}
  void OnEvents(uint32_t events) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_ |= events;
    in_loop_ = loop_->InLoopThread();
    char buf[64];
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof(buf))) > 0) data_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  bool WaitFor(const std::string& want) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return data_ == want; });
  }
  uint32_t events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  bool in_loop() {
    std::lock_guard<std::mutex> lock(mu_);
    return in_loop_;
  }

 private:
  EventLoop* loop_;
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t events_ = 0;
  bool in_loop_ = false;
  std::string data_;
};

TEST(EventLoopTest, WatchDeliversReadinessToWatcher) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  RunningLoop r;
  PipeWatcher w(r.loop(), rd.get());
  Status st, dup;
  r.loop()->RunAndWait([&] {
    st = r.loop()->Watch(rd.get(), EPOLLIN, &w);
    dup = r.loop()->Watch(rd.get(), EPOLLIN, &w);  // EEXIST
  });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(dup.ok());
  EXPECT_EQ(w.events(), 0u);  // nothing readable yet
  ASSERT_EQ(::write(wr.get(), "ping", 4), 4);
  ASSERT_TRUE(w.WaitFor("ping"));
  EXPECT_TRUE(w.events() & EPOLLIN);
  EXPECT_TRUE(w.in_loop());
  ASSERT_EQ(::write(wr.get(), "!", 1), 1);
  ASSERT_TRUE(w.WaitFor("ping!"));
  r.loop()->RunAndWait([&] { r.loop()->Unwatch(rd.get()); });
  Status bad = Status::Ok();
  r.loop()->RunAndWait([&] { bad = r.loop()->Modify(rd.get(), EPOLLIN, &w); });
  EXPECT_FALSE(bad.ok());  // no longer registered
}

// When it runs, unwatches both pipes and destroys the other watcher, as an engine handler
// does when one event (a launcher's exit report) frees another fd's watcher (the worker's
// channel) whose event is still pending in the same batch.
class Killer final : public Watcher {
 public:
  Killer(EventLoop* loop, int fd, int* calls) : loop_(loop), fd_(fd), calls_(calls) {}
  void SetOther(std::unique_ptr<Killer>* other, int other_fd) {
    other_ = other;
    other_fd_ = other_fd;
  }
  void OnEvents(uint32_t) override {
    ++*calls_;
    loop_->Unwatch(fd_);
    loop_->Unwatch(other_fd_);
    other_->reset();
  }

 private:
  EventLoop* loop_;
  int fd_;
  int* calls_;
  std::unique_ptr<Killer>* other_ = nullptr;
  int other_fd_ = -1;
};

TEST(EventLoopTest, WatcherFreedByAnEarlierHandlerInTheSameBatchIsNotCalled) {
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_NONBLOCK | O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_NONBLOCK | O_CLOEXEC), 0);
  UniqueFd ard(a[0]), awr(a[1]), brd(b[0]), bwr(b[1]);
  RunningLoop r;
  int calls = 0;
  auto ka = std::make_unique<Killer>(r.loop(), ard.get(), &calls);
  auto kb = std::make_unique<Killer>(r.loop(), brd.get(), &calls);
  ka->SetOther(&kb, brd.get());
  kb->SetOther(&ka, ard.get());
  r.loop()->RunAndWait([&] {
    ASSERT_TRUE(r.loop()->Watch(ard.get(), EPOLLIN, ka.get()).ok());
    ASSERT_TRUE(r.loop()->Watch(brd.get(), EPOLLIN, kb.get()).ok());
    // Both readable before the loop's next epoll_wait: one batch holds both events.
    ASSERT_EQ(::write(awr.get(), "a", 1), 1);
    ASSERT_EQ(::write(bwr.get(), "b", 1), 1);
  });
  // Read on the loop thread, until the batch has been handled (a wake-up for these tasks
  // may share or precede it).
  bool handled = false;
  const int64_t deadline = MonotonicNowNs() + 10'000'000'000;
  while (!handled && MonotonicNowNs() < deadline) {
    r.loop()->RunAndWait([&] { handled = calls > 0; });
  }
  r.loop()->RunAndWait([&] {
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(ka == nullptr || kb == nullptr);
  });
}

TEST(LoopThreadsTest, StartRunsEachLoopOnItsOwnThreadAndStops) {
  LoopThreads threads(3);
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads.Next(), threads.loop(0));
  EXPECT_EQ(threads.Next(), threads.loop(1));
  EXPECT_EQ(threads.Next(), threads.loop(2));
  EXPECT_EQ(threads.Next(), threads.loop(0));
  threads.Start();
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::thread::id> ids;
  int in_loop = 0;
  for (size_t i = 0; i < threads.size(); ++i) {
    EventLoop* l = threads.loop(i);
    l->Post([&, l] {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
      in_loop += l->InLoopThread() ? 1 : 0;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return ids.size() == 3; }));
  }
  EXPECT_EQ(in_loop, 3);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
  // Tasks posted before the stop still run.
  bool ran_late = false;
  threads.loop(1)->Post([&] { ran_late = true; });
  threads.StopAndJoin();
  EXPECT_TRUE(ran_late);
  threads.StopAndJoin();  // idempotent; the destructor calls it again
}

}  // namespace
}  // namespace nightjar::io
