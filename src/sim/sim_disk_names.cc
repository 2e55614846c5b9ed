#include "sim/sim_disk_names.h"

#include <utility>

#include "io/assert.h"

namespace strand::sim {
namespace {

using io::Error;
using io::ErrorKind;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// Keys below `directory` start with this ("" for the root).
std::string prefix_of(const std::string& directory) {
  if (directory == kRootPath) return "";
  return directory + "/";
}

Error name_error(ErrorKind kind, const std::string& path, std::string_view what) {
  std::string message = path;
  message += ": ";
  message += what;
  return Error{kind, std::move(message)};
}

}  // namespace

io::Result<std::string> normalize_path(std::string_view path) {
  std::string normalized;
  std::size_t start = 0;
  // Each pass consumes one component and its slash, so the loop ends within path.size() + 1 passes.
  for (std::size_t passes = 0; start <= path.size(); ++passes) {
    STRAND_ASSERT(passes <= path.size(), "each pass consumes at least one character");
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view component = path.substr(start, slash - start);
    start = slash + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      return Error{ErrorKind::kInvalid, std::string(path) + ": '..' is not supported"};
    }
    if (!normalized.empty()) normalized += '/';
    normalized += component;
  }
  if (normalized.empty()) return std::string(kRootPath);
  return normalized;
}

std::string parent_of(const std::string& normalized) {
  STRAND_ASSERT(normalized != kRootPath, "the root has no parent");
  const std::size_t slash = normalized.rfind('/');
  if (slash == std::string::npos) return std::string(kRootPath);
  return normalized.substr(0, slash);
}

std::optional<NameEntry> SimNames::find(const std::string& path) const {
  if (path == kRootPath) return NameEntry{EntryKind::kDirectory, 0};
  const auto found = entries_.find(path);
  if (found == entries_.end()) return std::nullopt;
  return found->second;
}

bool SimNames::is_directory(const std::string& path) const {
  const std::optional<NameEntry> entry = find(path);
  return entry && entry->kind == EntryKind::kDirectory;
}

bool SimNames::has_children(const std::string& directory) const {
  const std::string prefix = prefix_of(directory);
  const auto first = entries_.lower_bound(prefix);
  return first != entries_.end() && starts_with(first->first, prefix);
}

std::vector<std::string> SimNames::children(const std::string& directory) const {
  STRAND_ASSERT(is_directory(directory), "children of a directory only");
  const std::string prefix = prefix_of(directory);
  std::vector<std::string> names;
  for (auto it = entries_.lower_bound(prefix); it != entries_.end(); ++it) {
    if (!starts_with(it->first, prefix)) break;
    std::string rest = it->first.substr(prefix.size());
    if (rest.find('/') == std::string::npos) names.push_back(std::move(rest));
  }
  return names;  // sorted: map order, and a '/'-free suffix keeps the prefix order
}

io::Result<void> SimNames::check_parent(const std::string& path) const {
  const std::string parent = parent_of(path);
  const std::optional<NameEntry> entry = find(parent);
  if (!entry) return name_error(ErrorKind::kNotFound, path, "no such directory: " + parent);
  if (entry->kind != EntryKind::kDirectory) {
    return name_error(ErrorKind::kNotFound, path, "not a directory: " + parent);
  }
  return io::ok();
}

io::Result<void> SimNames::check(const NameOp& op) const {
  switch (op.kind) {
    case NameOp::Kind::kCreateFile:
    case NameOp::Kind::kMakeDirectory: {
      if (op.path == kRootPath) return name_error(ErrorKind::kExists, op.path, "is the root");
      io::Result<void> parent = check_parent(op.path);
      if (!parent) return parent;
      if (find(op.path)) return name_error(ErrorKind::kExists, op.path, "already exists");
      return io::ok();
    }
    case NameOp::Kind::kRemove: {
      if (op.path == kRootPath) return name_error(ErrorKind::kInvalid, op.path, "is the root");
      const std::optional<NameEntry> entry = find(op.path);
      if (!entry) return name_error(ErrorKind::kNotFound, op.path, "no such file or directory");
      if (entry->kind == EntryKind::kDirectory && has_children(op.path)) {
        return name_error(ErrorKind::kIoError, op.path, "directory not empty");
      }
      return io::ok();
    }
    case NameOp::Kind::kRename:
      return check_rename(op);
  }
  return name_error(ErrorKind::kInvalid, op.path, "unknown name operation");
}

io::Result<void> SimNames::check_rename(const NameOp& op) const {
  if (op.path == kRootPath || op.to == kRootPath) {
    return name_error(ErrorKind::kInvalid, op.path, "can't rename the root");
  }
  const std::optional<NameEntry> source = find(op.path);
  if (!source) return name_error(ErrorKind::kNotFound, op.path, "no such file or directory");
  io::Result<void> parent = check_parent(op.to);
  if (!parent) return parent;
  if (op.path == op.to) return io::ok();
  const bool source_is_directory = source->kind == EntryKind::kDirectory;
  if (source_is_directory && starts_with(op.to, op.path + "/")) {
    return name_error(ErrorKind::kInvalid, op.path, "can't move a directory into itself");
  }
  const std::optional<NameEntry> target = find(op.to);
  if (!target) return io::ok();
  const bool target_is_directory = target->kind == EntryKind::kDirectory;
  if (!source_is_directory && target_is_directory) {
    return name_error(ErrorKind::kInvalid, op.to, "is a directory");
  }
  if (source_is_directory && !target_is_directory) {
    return name_error(ErrorKind::kInvalid, op.to, "not a directory");
  }
  if (target_is_directory && has_children(op.to)) {
    return name_error(ErrorKind::kIoError, op.to, "directory not empty");
  }
  return io::ok();
}

void SimNames::apply(const NameOp& op) {
  STRAND_ASSERT(check(op).ok(), "only valid name operations are applied");
  switch (op.kind) {
    case NameOp::Kind::kCreateFile: {
      entries_.emplace(op.path, NameEntry{EntryKind::kFile, op.inode});
      const bool fresh = file_inodes_.insert(op.inode).second;
      STRAND_ASSERT(fresh, "a file's inode has one name");
      return;
    }
    case NameOp::Kind::kMakeDirectory:
      entries_.emplace(op.path, NameEntry{EntryKind::kDirectory, 0});
      return;
    case NameOp::Kind::kRemove:
      forget_file(op.path);
      entries_.erase(op.path);
      return;
    case NameOp::Kind::kRename:
      apply_rename(op.path, op.to);
      return;
  }
}

void SimNames::forget_file(const std::string& path) {
  const auto found = entries_.find(path);
  if (found == entries_.end() || found->second.kind != EntryKind::kFile) return;
  const std::size_t erased = file_inodes_.erase(found->second.inode);
  STRAND_ASSERT(erased == 1, "a file entry's inode is in file_inodes_");
}

void SimNames::apply_rename(const std::string& from, const std::string& to) {
  if (from == to) return;
  // The source and, for a directory, everything below it, re-keyed under the new name.
  std::vector<std::pair<std::string, NameEntry>> moved;
  moved.emplace_back(to, entries_.at(from));
  const std::string prefix = from + "/";
  const auto below_begin = entries_.lower_bound(prefix);
  auto below_end = below_begin;
  for (; below_end != entries_.end() && starts_with(below_end->first, prefix); ++below_end) {
    moved.emplace_back(to + "/" + below_end->first.substr(prefix.size()), below_end->second);
  }
  entries_.erase(below_begin, below_end);
  entries_.erase(from);
  forget_file(to);
  entries_.erase(to);  // the replaced target: a file, or an empty directory
  for (auto& [path, entry] : moved) {
    const bool inserted = entries_.emplace(std::move(path), entry).second;
    STRAND_ASSERT(inserted, "a rename's target subtree is empty");
  }
}

}  // namespace strand::sim
