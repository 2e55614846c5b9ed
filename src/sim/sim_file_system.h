// One node incarnation's io::FileSystem over a SimDisk. It adds to the disk's synchronous
// operations what a node observes of a real device: latency (sleeps on the node's clock), injected
// EIO (decided by the node's Random against disk.faults()), and the crash barrier: once the disk
// crashes, this view and every file it opened answer kClosed and never touch the disk again.
// After a crash the node builds a new SimFileSystem on the same disk.
//
// An operation takes effect atomically after its injected latency, if any; a crash (or a cancelled
// scope) during that latency means it never happened.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/clock.h"
#include "io/file_system.h"
#include "io/random.h"
#include "sim/sim_disk.h"

namespace strand::sim {

class SimFileSystem final : public io::FileSystem {
 public:
  // `disk` must outlive this object and every file it opens. `clock` and `random` must stay alive
  // while operations run (files use them only inside operations, never in destructors). `clock` is
  // used only to sleep for injected latency; `random` decides every injected fault.
  SimFileSystem(SimDisk& disk, io::Clock& clock, io::Random& random);

  io::Task<io::Result<std::unique_ptr<io::File>>> open(const std::string& path,
                                                       io::OpenMode mode) override;
  io::Task<io::Result<void>> rename(const std::string& from, const std::string& to) override;
  io::Task<io::Result<void>> remove(const std::string& path) override;
  io::Task<io::Result<std::vector<std::string>>> list(const std::string& directory) override;
  io::Task<io::Result<void>> make_dirs(const std::string& directory) override;
  // Commits every pending name change on the disk, not only those in `directory`.
  io::Task<io::Result<void>> sync_dir(const std::string& directory) override;
  io::Task<io::Result<bool>> exists(const std::string& path) override;

  // True once the disk crashed after this view was made.
  bool stale() const { return disk_.incarnation() != incarnation_; }
  SimDisk& disk() { return disk_; }

 private:
  // The interface passes strings by reference; these take copies, so a task may outlive the
  // caller's strings.
  io::Task<io::Result<std::unique_ptr<io::File>>> open_copy(std::string path, io::OpenMode mode);
  io::Task<io::Result<void>> rename_copy(std::string from, std::string to);
  io::Task<io::Result<void>> remove_copy(std::string path);
  io::Task<io::Result<std::vector<std::string>>> list_copy(std::string directory);
  io::Task<io::Result<void>> make_dirs_copy(std::string directory);
  io::Task<io::Result<void>> sync_dir_copy(std::string directory);
  io::Task<io::Result<bool>> exists_copy(std::string path);

  // Sleeps for the injected metadata latency, if any.
  io::Task<void> metadata_pause();
  // kClosed if the disk crashed since this view was made.
  io::Result<void> check_fresh(std::string_view op, const std::string& path) const;

  SimDisk& disk_;
  io::Clock& clock_;
  io::Random& random_;
  std::uint64_t incarnation_;
};

}  // namespace strand::sim
