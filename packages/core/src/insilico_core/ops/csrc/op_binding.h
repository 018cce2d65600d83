// The torch-facing half of both bindings (cpu_binding.cpp, cuda_binding.cpp): argument checks, the layout of
// the inputs, output allocation and the kernel arguments of each op, written once. A binding adds only what is
// its own: the device guard, the dtype dispatch and the kernel call. Messages name the op and the backend,
// e.g. "upfirdn2d (cuda): ...".
#pragma once

#include <torch/extension.h>

#include <cstdint>
#include <initializer_list>

#include "op_args.h"

namespace insilico_ops {

// the backend a binding serves: its name in messages and the device type of its tensors
struct Backend {
    const char* name;
    at::DeviceType device;
};

inline const void* data_or_null(const at::Tensor& t) { return t.numel() ? t.data_ptr() : nullptr; }

// x on the backend's device; every non-empty tensor of `others` on x's device
inline void check_devices(const Backend& be, const char* op, const at::Tensor& x,
                          std::initializer_list<const at::Tensor*> others) {
    TORCH_CHECK(x.device().type() == be.device, op, " (", be.name, "): x must be a ", be.name, " tensor, got ",
                x.device());
    for (const at::Tensor* t : others)
        TORCH_CHECK(t->numel() == 0 || t->device() == x.device(), op, " (", be.name,
                    "): every tensor must be on the device of x (", x.device(), "), got one on ", t->device());
}

// a resampling filter: contiguous, 1-D (separable) or 2-D, float32 (float64 for float64 x)
inline void check_filter(const Backend& be, const char* op, const char* name, const at::Tensor& f,
                         const at::Tensor& x) {
    TORCH_CHECK(f.dim() == 1 || f.dim() == 2, op, " (", be.name, "): ", name, " must be 1-D or 2-D");
    TORCH_CHECK(f.numel() > 0 && f.is_contiguous(), op, " (", be.name, "): ", name, " must be non-empty and contiguous");
    const auto filter_type = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    TORCH_CHECK(f.scalar_type() == filter_type, op, " (", be.name, "): ", name, " must be ", filter_type, " for x of ",
                x.scalar_type());
}

// b: empty or [x.size(dim)] of x's dtype; returned contiguous
inline at::Tensor checked_bias(const Backend& be, const char* op, const at::Tensor& b, const at::Tensor& x,
                               int64_t dim) {
    if (b.numel() == 0) return b;
    TORCH_CHECK(dim >= 0 && dim < x.dim() && b.dim() == 1 && b.size(0) == x.size(dim), op, " (", be.name,
                "): b must have length x.size(", dim, ")");
    TORCH_CHECK(b.scalar_type() == x.scalar_type(), op, " (", be.name, "): b must have the dtype of x");
    return b.contiguous();
}

// memory distance between consecutive indices of dim in a dense tensor: the product of the sizes of the dims
// laid out inside it (size-1 dims, whose strides are arbitrary, count for nothing)
inline int64_t channel_step(const at::Tensor& x, int64_t dim) {
    int64_t step = 1;
    if (x.size(dim) <= 1) return step;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (d != dim && x.size(d) > 1 && x.stride(d) < x.stride(dim)) step *= x.size(d);
    return step;
}

// ---- bias_act: x, xref, yref, dy dense tensors of one shape and layout (empty when unused), b [x.size(dim)]
// or empty. args.db is left null (the CPU binding points it at its accumulator, the CUDA binding reduces y).
struct BiasActCall {
    at::Tensor x, b, xref, yref, dy, y;
    BiasActArgs args;
};

inline BiasActCall prepare_bias_act(const Backend& be, at::Tensor x, at::Tensor b, at::Tensor xref, at::Tensor yref,
                                    at::Tensor dy, int64_t grad, int64_t dim, int64_t act, double alpha, double gain,
                                    double clamp) {
    check_devices(be, "bias_act", x, {&b, &xref, &yref, &dy});
    TORCH_CHECK(grad >= 0 && grad <= 2, "bias_act (", be.name, "): grad must be 0, 1 or 2");
    TORCH_CHECK(act >= 1 && act <= 9, "bias_act (", be.name, "): unknown activation code ", act);
    if (!x.is_non_overlapping_and_dense()) x = x.contiguous();
    for (at::Tensor* t : {&xref, &yref, &dy}) {
        if (t->numel() == 0) continue;
        TORCH_CHECK(t->sizes() == x.sizes() && t->scalar_type() == x.scalar_type(), "bias_act (", be.name,
                    "): saved tensors must match x in shape and dtype");
        if (t->strides() != x.strides()) *t = at::empty_like(x).copy_(*t);
    }
    b = checked_bias(be, "bias_act", b, x, dim);
    const bool has_bias = b.numel() > 0;
    at::Tensor y = at::empty_like(x);
    BiasActArgs args{data_or_null(x), data_or_null(b), data_or_null(xref), data_or_null(yref), data_or_null(dy),
                     y.data_ptr(), nullptr, x.numel(), has_bias ? b.size(0) : 1,
                     has_bias ? channel_step(x, dim) : 1, int(grad), int(act), alpha, gain, clamp};
    return {x, b, xref, yref, dy, y, args};
}

// ---- upfirdn2d: x [N, C, H, W] (any strides), f a filter (check_filter); y contiguous.
struct Upfirdn2dCall {
    at::Tensor y;
    Upfirdn2dArgs args;
};

inline Upfirdn2dCall prepare_upfirdn2d(const Backend& be, const at::Tensor& x, const at::Tensor& f, int64_t up_x,
                                       int64_t up_y, int64_t down_x, int64_t down_y, int64_t pad_x0, int64_t pad_x1,
                                       int64_t pad_y0, int64_t pad_y1, bool flip_filter, double gain) {
    check_devices(be, "upfirdn2d", x, {&f});
    TORCH_CHECK(x.dim() == 4, "upfirdn2d (", be.name, "): x must be [N, C, H, W]");
    check_filter(be, "upfirdn2d", "f", f, x);
    TORCH_CHECK(up_x >= 1 && up_y >= 1 && down_x >= 1 && down_y >= 1, "upfirdn2d (", be.name,
                "): up and down must be >= 1");
    const int64_t fw = f.size(-1), fh = f.size(0);
    const int64_t out_w = (x.size(3) * up_x + pad_x0 + pad_x1 - fw) / down_x + 1;
    const int64_t out_h = (x.size(2) * up_y + pad_y0 + pad_y1 - fh) / down_y + 1;
    TORCH_CHECK(out_w >= 1 && out_h >= 1, "upfirdn2d (", be.name, "): the padded input is smaller than the filter");
    at::Tensor y = at::empty({x.size(0), x.size(1), out_h, out_w}, x.options());
    Upfirdn2dArgs args{x.data_ptr(), f.data_ptr(), y.data_ptr(), x.size(0) * x.size(1), x.size(1),
                       x.stride(0), x.stride(1), x.stride(2), x.stride(3), x.size(2), x.size(3), out_h, out_w,
                       int(up_x), int(up_y), int(down_x), int(down_y), int(pad_x0), int(pad_y0), int(fw), int(fh),
                       f.dim() == 1, flip_filter, gain};
    return {y, args};
}

// ---- filtered_lrelu (see FilteredLReluArgs): x [N, C, H, W] (any strides), fu and fd filters (check_filter),
// b [C] or empty (mode 0, 1), signs: empty (mode 0, 1: allocated here for mode 1) or the uint8
// [N, C, mid_h, mid_w] of a mode-1 call (mode 2). Returns y [N, C, out_h, out_w] contiguous and the signs.
struct FilteredLReluCall {
    at::Tensor y, signs, b;
    FilteredLReluArgs args;
};

inline FilteredLReluCall prepare_filtered_lrelu(const Backend& be, const at::Tensor& x, const at::Tensor& fu,
                                                const at::Tensor& fd, at::Tensor b, at::Tensor signs, int64_t mode,
                                                int64_t up, int64_t down, int64_t up_pad_x0, int64_t up_pad_y0,
                                                int64_t down_pad_x0, int64_t down_pad_y0, int64_t mid_w,
                                                int64_t mid_h, int64_t out_w, int64_t out_h, bool flip_filter,
                                                double filter_gain, double gain, double slope, double clamp) {
    const char* op = "filtered_lrelu";
    check_devices(be, op, x, {&fu, &fd, &b, &signs});
    TORCH_CHECK(x.dim() == 4, op, " (", be.name, "): x must be [N, C, H, W]");
    check_filter(be, op, "fu", fu, x);
    check_filter(be, op, "fd", fd, x);
    TORCH_CHECK(mode >= 0 && mode <= 2, op, " (", be.name, "): mode must be 0, 1 or 2");
    TORCH_CHECK(up >= 1 && down >= 1, op, " (", be.name, "): up and down must be >= 1");
    TORCH_CHECK(mid_w >= 1 && mid_h >= 1 && out_w >= 1 && out_h >= 1, op, " (", be.name,
                "): the intermediate and output sizes must be >= 1");
    b = checked_bias(be, op, b, x, 1);
    TORCH_CHECK(mode != 2 || b.numel() == 0, op, " (", be.name, "): mode 2 (the derivative) takes no bias");
    const int64_t n = x.size(0), c = x.size(1);
    if (mode == 2) {
        TORCH_CHECK(signs.scalar_type() == at::kByte && signs.is_contiguous() &&
                        signs.sizes() == at::IntArrayRef({n, c, mid_h, mid_w}),
                    op, " (", be.name, "): mode 2 needs the contiguous uint8 signs [", n, ", ", c, ", ", mid_h,
                    ", ", mid_w, "] of a mode-1 call");
    } else {
        signs = mode == 1 ? at::empty({n, c, mid_h, mid_w}, x.options().dtype(at::kByte))
                          : at::empty({0}, x.options().dtype(at::kByte));
    }
    at::Tensor y = at::empty({n, c, out_h, out_w}, x.options());
    FilteredLReluArgs args{x.data_ptr(), data_or_null(b), fu.data_ptr(), fd.data_ptr(),
                           mode == 0 ? nullptr : signs.data_ptr<uint8_t>(), y.data_ptr(), n * c, c,
                           x.stride(0), x.stride(1), x.stride(2), x.stride(3), x.size(2), x.size(3), mid_h, mid_w,
                           out_h, out_w, int(up), int(down), int(up_pad_x0), int(up_pad_y0), int(down_pad_x0),
                           int(down_pad_y0), int(fu.size(-1)), int(fu.size(0)), int(fd.size(-1)), int(fd.size(0)),
                           fu.dim() == 1, fd.dim() == 1, flip_filter, int(mode), filter_gain, gain, slope, clamp};
    return {y, signs, b, args};
}

}  // namespace insilico_ops
