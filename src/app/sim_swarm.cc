#include "app/sim_swarm.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "io/assert.h"

namespace strand::app {
namespace {

constexpr int kJobsMax = 64;

struct Worker {
  pid_t pid = -1;
  int seeds_fd = -1;  // the parent writes seeds, 8 bytes each; closing it tells the worker to exit
  int outcomes_fd = -1;               // the worker writes one line per seed
  std::optional<std::uint64_t> seed;  // handed out, not answered yet
  std::string partial;                // the start of a line not yet complete
  bool gone = false;                  // reaped; removed after the current poll pass
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool read_exact(int fd, void* data, std::size_t size) {
  auto* bytes = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// One line, "<seed> ok" or "<seed> FAILED <why>": the why must not break the framing.
std::string encode(const SeedOutcome& outcome) {
  std::string why = outcome.why;
  for (char& c : why) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return std::to_string(outcome.seed) + (outcome.ok ? " ok" : " FAILED " + why) + "\n";
}

std::optional<SeedOutcome> decode(std::string_view line) {
  SeedOutcome outcome;
  const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), outcome.seed);
  if (error != std::errc{}) return std::nullopt;
  const std::string_view rest = line.substr(static_cast<std::size_t>(end - line.data()));
  if (rest == " ok") {
    outcome.ok = true;
    return outcome;
  }
  constexpr std::string_view kFailed = " FAILED ";
  if (rest.substr(0, kFailed.size()) != kFailed) return std::nullopt;
  outcome.why = std::string(rest.substr(kFailed.size()));
  return outcome;
}

[[noreturn]] void worker_main(int seeds_fd, int outcomes_fd, const RunSeed& run_seed) {
  std::uint64_t seed = 0;
  while (read_exact(seeds_fd, &seed, sizeof seed)) {
    const std::string line = encode(run_seed(seed));
    if (!write_all(outcomes_fd, line.data(), line.size())) break;
  }
  // _exit: the parent's atexit handlers and stdio buffers are the parent's to run and flush.
  ::_exit(0);
}

// Returns the error text when no process could be made.
std::optional<std::string> spawn(std::vector<Worker>& workers, const RunSeed& run_seed) {
  int seeds[2];
  int outcomes[2];
  if (::pipe(seeds) != 0) return std::string("pipe: ") + std::strerror(errno);
  if (::pipe(outcomes) != 0) {
    const int saved = errno;
    ::close(seeds[0]);
    ::close(seeds[1]);
    return std::string("pipe: ") + std::strerror(saved);
  }
  std::fflush(nullptr);  // or the child would write the parent's buffered output a second time
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int saved = errno;
    for (int fd : {seeds[0], seeds[1], outcomes[0], outcomes[1]}) ::close(fd);
    return std::string("fork: ") + std::strerror(saved);
  }
  if (pid == 0) {
    // The other workers' pipe ends: a sibling holding them would keep EOF from reaching them.
    for (Worker& other : workers) {
      close_fd(other.seeds_fd);
      close_fd(other.outcomes_fd);
    }
    ::close(seeds[1]);
    ::close(outcomes[0]);
    worker_main(seeds[0], outcomes[1], run_seed);
  }
  ::close(seeds[0]);
  ::close(outcomes[1]);
  Worker worker;
  worker.pid = pid;
  worker.seeds_fd = seeds[1];
  worker.outcomes_fd = outcomes[0];
  workers.push_back(std::move(worker));
  return std::nullopt;
}

std::string death_of(int status) {
  if (WIFSIGNALED(status)) {
    const int number = WTERMSIG(status);
    const char* name = ::strsignal(number);
    return "worker died: signal " + std::to_string(number) + " (" + (name ? name : "?") + ")";
  }
  if (WIFEXITED(status)) {
    return "worker exited with status " + std::to_string(WEXITSTATUS(status)) + " before answering";
  }
  return "worker died";
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// The parent's side: hands out seeds, collects outcomes, reports them in seed order.
class Dispatcher {
 public:
  Dispatcher(std::uint64_t low, std::uint64_t high, bool stop_early, const RunSeed& run_seed,
             const ReportSeed& report)
      : next_seed_(low),
        high_(high),
        stop_early_(stop_early),
        next_report_(low),
        run_seed_(run_seed),
        report_(report) {}

  SwarmTally run(std::size_t jobs) {
    top_up(jobs);
    while (!workers_.empty()) {
      std::vector<pollfd> fds;
      for (const Worker& worker : workers_) fds.push_back({worker.outcomes_fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        STRAND_ASSERT(errno == EINTR, "poll on our own pipes cannot fail otherwise");
        continue;
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents != 0) drain(workers_[i]);
      }
      std::erase_if(workers_, [](const Worker& worker) { return worker.gone; });
      top_up(jobs);  // replaces workers that died while seeds are left
      report_in_order();
    }
    STRAND_ASSERT(done_.empty(), "every seed handed out has an outcome once the workers are gone");
    return tally_;
  }

 private:
  bool may_hand_out() const { return !out_of_seeds_ && !(stop_early_ && tally_.failed > 0); }

  void top_up(std::size_t jobs) {
    while (may_hand_out() && workers_.size() < jobs) {
      std::optional<std::string> error = spawn(workers_, run_seed_);
      if (error) {
        // With workers left, they take the seeds; with none, the swarm ends here.
        if (workers_.empty()) tally_.error = std::move(*error);
        return;
      }
      hand_out(workers_.back());
    }
  }

  void hand_out(Worker& worker) {
    if (!may_hand_out()) {
      close_fd(worker.seeds_fd);
      return;
    }
    const std::uint64_t seed = next_seed_;
    // A failed write means the worker is gone; its EOF comes next and the seed stays unassigned.
    if (!write_all(worker.seeds_fd, &seed, sizeof seed)) {
      close_fd(worker.seeds_fd);
      return;
    }
    worker.seed = seed;
    if (seed == high_) {
      out_of_seeds_ = true;
    } else {
      next_seed_ += 1;
    }
  }

  void drain(Worker& worker) {
    char buffer[4096];
    ssize_t n = 0;
    do {
      n = ::read(worker.outcomes_fd, buffer, sizeof buffer);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      reap(worker);
      return;
    }
    worker.partial.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline = 0;
    while ((newline = worker.partial.find('\n')) != std::string::npos) {
      const std::optional<SeedOutcome> outcome =
          decode(std::string_view(worker.partial).substr(0, newline));
      worker.partial.erase(0, newline + 1);
      STRAND_ASSERT(outcome && worker.seed && outcome->seed == *worker.seed,
                    "a worker answers the seed it was handed, in our own line format");
      worker.seed.reset();
      record(*outcome);
      hand_out(worker);
    }
  }

  void reap(Worker& worker) {
    close_fd(worker.seeds_fd);
    close_fd(worker.outcomes_fd);
    const int status = wait_for(worker.pid);
    worker.gone = true;
    if (worker.seed) record({*worker.seed, false, death_of(status)});
    worker.seed.reset();
  }

  void record(const SeedOutcome& outcome) {
    tally_.ran += 1;
    if (!outcome.ok) tally_.failed += 1;
    done_.emplace(outcome.seed, outcome);
  }

  void report_in_order() {
    for (auto it = done_.begin(); it != done_.end() && it->first == next_report_;) {
      report_(it->second);
      it = done_.erase(it);
      next_report_ += 1;
    }
  }

  std::vector<Worker> workers_;
  std::uint64_t next_seed_;
  const std::uint64_t high_;
  bool out_of_seeds_ = false;
  const bool stop_early_;
  std::uint64_t next_report_;
  std::map<std::uint64_t, SeedOutcome> done_;  // outcomes not reported yet: a lower seed runs
  SwarmTally tally_;
  const RunSeed& run_seed_;
  const ReportSeed& report_;
};

}  // namespace

SwarmTally run_seeds_forked(std::uint64_t low, std::uint64_t high, int jobs, bool stop_early,
                            const RunSeed& run_seed, const ReportSeed& report) {
  STRAND_ASSERT(jobs >= 1 && jobs <= kJobsMax && low <= high, "the caller checked the options");
  // A worker that dies while we hand it a seed must not take the parent with it.
  void (*const previous)(int) = std::signal(SIGPIPE, SIG_IGN);
  Dispatcher dispatcher(low, high, stop_early, run_seed, report);
  const SwarmTally tally = dispatcher.run(static_cast<std::size_t>(jobs));
  std::signal(SIGPIPE, previous);
  return tally;
}

}  // namespace strand::app
