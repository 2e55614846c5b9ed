// Lifetime of libuv handles. uv_close() is asynchronous: libuv keeps using the handle until its
// close callback runs, so the memory holding a handle is freed there and nowhere else. Every
// handle in src/io/uv lives in a heap "holder" struct whose owner calls close_and_delete() when it
// lets go; callbacks reach the owner through a back pointer in the holder that the owner clears
// first, so a callback that races with the close never touches a destroyed owner.
#pragma once

#include <uv.h>

#include "io/assert.h"

namespace strand::io::uv {

// Starts closing `handle` (a member of `*holder`) and deletes `holder` in the close callback.
// REQUIRES: the handle was initialised and is not closing yet.
template <typename Holder, typename Handle>
void close_and_delete(Holder* holder, Handle* handle) {
  auto* base = reinterpret_cast<uv_handle_t*>(handle);
  STRAND_ASSERT(!uv_is_closing(base), "a handle is closed once");
  base->data = holder;
  uv_close(base, [](uv_handle_t* closed) { delete static_cast<Holder*>(closed->data); });
}

inline uv_stream_t* as_stream(uv_tcp_t* tcp) { return reinterpret_cast<uv_stream_t*>(tcp); }
inline uv_handle_t* as_handle(uv_tcp_t* tcp) { return reinterpret_cast<uv_handle_t*>(tcp); }

}  // namespace strand::io::uv
