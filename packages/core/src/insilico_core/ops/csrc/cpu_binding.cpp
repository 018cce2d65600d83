// Python binding of the CPU kernels: checks the tensors, allocates the outputs and dispatches on dtype.
#include <torch/extension.h>

#include <tuple>

#include "cpu_kernels.h"

namespace {

using insilico_ops::BiasActArgs;
using insilico_ops::Upfirdn2dArgs;

const void* data_or_null(const at::Tensor& t) { return t.numel() ? t.data_ptr() : nullptr; }

// memory distance between consecutive indices of dim in a dense tensor: the product of the sizes of the dims
// laid out inside it (size-1 dims, whose strides are arbitrary, count for nothing)
int64_t channel_step(const at::Tensor& x, int64_t dim) {
    int64_t step = 1;
    if (x.size(dim) <= 1) return step;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (d != dim && x.size(d) > 1 && x.stride(d) < x.stride(dim)) step *= x.size(d);
    return step;
}

// x, xref, yref, dy: dense tensors of one shape and layout (empty when unused); b: [x.size(dim)] or empty.
std::tuple<at::Tensor, at::Tensor> bias_act(at::Tensor x, at::Tensor b, at::Tensor xref, at::Tensor yref,
                                            at::Tensor dy, int64_t grad, int64_t dim, int64_t act, double alpha,
                                            double gain, double clamp, bool want_db) {
    TORCH_CHECK(x.device().is_cpu(), "bias_act (cpu): x must be a CPU tensor");
    TORCH_CHECK(grad >= 0 && grad <= 2, "bias_act (cpu): grad must be 0, 1 or 2");
    TORCH_CHECK(act >= 1 && act <= 9, "bias_act (cpu): unknown activation code ", act);
    if (!x.is_non_overlapping_and_dense()) x = x.contiguous();
    for (at::Tensor* t : {&xref, &yref, &dy}) {
        if (t->numel() == 0) continue;
        TORCH_CHECK(t->sizes() == x.sizes() && t->scalar_type() == x.scalar_type() && t->device() == x.device(),
                    "bias_act (cpu): saved tensors must match x in shape, dtype and device");
        if (t->strides() != x.strides()) *t = at::empty_like(x).copy_(*t);
    }
    const bool has_bias = b.numel() > 0;
    if (has_bias) {
        TORCH_CHECK(dim >= 0 && dim < x.dim() && b.dim() == 1 && b.size(0) == x.size(dim),
                    "bias_act (cpu): b must have length x.size(dim)");
        TORCH_CHECK(b.scalar_type() == x.scalar_type() && b.device() == x.device(),
                    "bias_act (cpu): b must match x in dtype and device");
        b = b.contiguous();
    }
    at::Tensor y = at::empty_like(x);
    const int64_t channels = has_bias ? b.size(0) : 1;
    at::Tensor db = want_db ? at::zeros({channels}, x.options().dtype(at::kDouble)) : at::Tensor();
    BiasActArgs args{data_or_null(x), has_bias ? b.data_ptr() : nullptr, data_or_null(xref), data_or_null(yref),
                     data_or_null(dy), y.data_ptr(), want_db ? db.data_ptr<double>() : nullptr, x.numel(),
                     channels, has_bias ? channel_step(x, dim) : 1, int(grad), int(act), alpha, gain, clamp};
    if (x.numel() > 0) {
        switch (x.scalar_type()) {
            case at::kFloat: insilico_ops::bias_act_cpu<float>(args); break;
            case at::kDouble: insilico_ops::bias_act_cpu<double>(args); break;
            case at::kBFloat16: insilico_ops::bias_act_cpu<c10::BFloat16>(args); break;
            default: TORCH_CHECK(false, "bias_act (cpu): supports float32, float64 and bfloat16, got ", x.scalar_type());
        }
    }
    return {y, want_db ? db.to(x.scalar_type()) : at::empty({0}, x.options())};
}

// x: [N, C, H, W] (any strides); f: contiguous float32 (float64 for float64 x), 2-D [fh, fw] or 1-D separable.
at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up_x, int64_t up_y, int64_t down_x,
                     int64_t down_y, int64_t pad_x0, int64_t pad_x1, int64_t pad_y0, int64_t pad_y1,
                     bool flip_filter, double gain) {
    TORCH_CHECK(x.device().is_cpu() && f.device().is_cpu(), "upfirdn2d (cpu): x and f must be CPU tensors");
    TORCH_CHECK(x.dim() == 4, "upfirdn2d (cpu): x must be [N, C, H, W]");
    TORCH_CHECK(f.dim() == 1 || f.dim() == 2, "upfirdn2d (cpu): f must be 1-D or 2-D");
    TORCH_CHECK(f.is_contiguous(), "upfirdn2d (cpu): f must be contiguous");
    const auto filter_type = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    TORCH_CHECK(f.scalar_type() == filter_type, "upfirdn2d (cpu): f must be ", filter_type, " for x of ",
                x.scalar_type());
    TORCH_CHECK(up_x >= 1 && up_y >= 1 && down_x >= 1 && down_y >= 1, "upfirdn2d (cpu): up and down must be >= 1");
    const int64_t fw = f.size(-1), fh = f.size(0);
    const int64_t out_w = (x.size(3) * up_x + pad_x0 + pad_x1 - fw) / down_x + 1;
    const int64_t out_h = (x.size(2) * up_y + pad_y0 + pad_y1 - fh) / down_y + 1;
    TORCH_CHECK(out_w >= 1 && out_h >= 1, "upfirdn2d (cpu): the padded input is smaller than the filter");
    at::Tensor y = at::empty({x.size(0), x.size(1), out_h, out_w}, x.options());
    Upfirdn2dArgs args{x.data_ptr(), f.data_ptr(), y.data_ptr(), x.size(0) * x.size(1), x.size(1),
                       x.stride(0), x.stride(1), x.stride(2), x.stride(3), x.size(2), x.size(3), out_h, out_w,
                       int(up_x), int(up_y), int(down_x), int(down_y), int(pad_x0), int(pad_y0), int(fw), int(fh),
                       f.dim() == 1, flip_filter, gain};
    switch (x.scalar_type()) {
        case at::kFloat: insilico_ops::upfirdn2d_cpu<float>(args); break;
        case at::kDouble: insilico_ops::upfirdn2d_cpu<double>(args); break;
        case at::kBFloat16: insilico_ops::upfirdn2d_cpu<c10::BFloat16>(args); break;
        default: TORCH_CHECK(false, "upfirdn2d (cpu): supports float32, float64 and bfloat16, got ", x.scalar_type());
    }
    return y;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.doc() = "insilico custom ops, CPU kernels";
    m.def("bias_act", &bias_act, "fused bias + activation + gain + clamp, and its first and second derivatives");
    m.def("upfirdn2d", &upfirdn2d, "polyphase upsample + FIR filter + downsample");
}
