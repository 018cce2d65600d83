// Python binding of the CUDA kernels: checks the tensors, allocates the outputs on the tensors' device and
// stream, and calls the launchers of bias_act.cu / upfirdn2d.cu with raw pointers.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/extension.h>

#include <tuple>
#include <vector>

#include "cuda_kernels.h"

namespace {

using insilico_ops::BiasActArgs;
using insilico_ops::CudaDtype;
using insilico_ops::Upfirdn2dArgs;

CudaDtype cuda_dtype(const at::Tensor& x, const char* op) {
    switch (x.scalar_type()) {
        case at::kHalf: return CudaDtype::Float16;
        case at::kFloat: return CudaDtype::Float32;
        case at::kDouble: return CudaDtype::Float64;
        default: TORCH_CHECK(false, op, " (cuda): supports float16, float32 and float64, got ", x.scalar_type());
    }
}

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

void check(cudaError_t status, const char* op) {
    TORCH_CHECK(status == cudaSuccess, op, " (cuda): kernel launch failed: ", cudaGetErrorString(status));
}

// same contract as the CPU binding: x, xref, yref, dy dense and alike (empty when unused); b [x.size(dim)] or empty
std::tuple<at::Tensor, at::Tensor> bias_act(at::Tensor x, at::Tensor b, at::Tensor xref, at::Tensor yref,
                                            at::Tensor dy, int64_t grad, int64_t dim, int64_t act, double alpha,
                                            double gain, double clamp, bool want_db) {
    TORCH_CHECK(x.is_cuda(), "bias_act (cuda): x must be a CUDA tensor");
    TORCH_CHECK(grad >= 0 && grad <= 2, "bias_act (cuda): grad must be 0, 1 or 2");
    TORCH_CHECK(act >= 1 && act <= 9, "bias_act (cuda): unknown activation code ", act);
    const c10::cuda::CUDAGuard guard(x.device());
    const CudaDtype dtype = cuda_dtype(x, "bias_act");
    if (!x.is_non_overlapping_and_dense()) x = x.contiguous();
    for (at::Tensor* t : {&xref, &yref, &dy}) {
        if (t->numel() == 0) continue;
        TORCH_CHECK(t->sizes() == x.sizes() && t->scalar_type() == x.scalar_type() && t->device() == x.device(),
                    "bias_act (cuda): saved tensors must match x in shape, dtype and device");
        if (t->strides() != x.strides()) *t = at::empty_like(x).copy_(*t);
    }
    const bool has_bias = b.numel() > 0;
    if (has_bias) {
        TORCH_CHECK(dim >= 0 && dim < x.dim() && b.dim() == 1 && b.size(0) == x.size(dim),
                    "bias_act (cuda): b must have length x.size(dim)");
        TORCH_CHECK(b.scalar_type() == x.scalar_type() && b.device() == x.device(),
                    "bias_act (cuda): b must match x in dtype and device");
        b = b.contiguous();
    }
    at::Tensor y = at::empty_like(x);
    BiasActArgs args{data_or_null(x), has_bias ? b.data_ptr() : nullptr, data_or_null(xref), data_or_null(yref),
                     data_or_null(dy), y.data_ptr(), nullptr, x.numel(), has_bias ? b.size(0) : 1,
                     has_bias ? channel_step(x, dim) : 1, int(grad), int(act), alpha, gain, clamp};
    check(insilico_ops::launch_bias_act_cuda(args, dtype, c10::cuda::getCurrentCUDAStream()), "bias_act");
    if (!want_db) return {y, at::empty({0}, x.options())};
    std::vector<int64_t> dims;
    for (int64_t i = 0; i < x.dim(); ++i)
        if (i != dim) dims.push_back(i);
    const auto accumulate = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    at::Tensor db = y.sum(dims, false, accumulate).to(x.scalar_type());
    return {y, db};
}

at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up_x, int64_t up_y, int64_t down_x,
                     int64_t down_y, int64_t pad_x0, int64_t pad_x1, int64_t pad_y0, int64_t pad_y1,
                     bool flip_filter, double gain) {
    TORCH_CHECK(x.is_cuda() && f.device() == x.device(), "upfirdn2d (cuda): x and f must be on one CUDA device");
    TORCH_CHECK(x.dim() == 4, "upfirdn2d (cuda): x must be [N, C, H, W]");
    TORCH_CHECK(f.dim() == 1 || f.dim() == 2, "upfirdn2d (cuda): f must be 1-D or 2-D");
    TORCH_CHECK(f.is_contiguous(), "upfirdn2d (cuda): f must be contiguous");
    const c10::cuda::CUDAGuard guard(x.device());
    const CudaDtype dtype = cuda_dtype(x, "upfirdn2d");
    const auto filter_type = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    TORCH_CHECK(f.scalar_type() == filter_type, "upfirdn2d (cuda): f must be ", filter_type, " for x of ",
                x.scalar_type());
    TORCH_CHECK(up_x >= 1 && up_y >= 1 && down_x >= 1 && down_y >= 1, "upfirdn2d (cuda): up and down must be >= 1");
    const int64_t fw = f.size(-1), fh = f.size(0);
    const int64_t out_w = (x.size(3) * up_x + pad_x0 + pad_x1 - fw) / down_x + 1;
    const int64_t out_h = (x.size(2) * up_y + pad_y0 + pad_y1 - fh) / down_y + 1;
    TORCH_CHECK(out_w >= 1 && out_h >= 1, "upfirdn2d (cuda): the padded input is smaller than the filter");
    at::Tensor y = at::empty({x.size(0), x.size(1), out_h, out_w}, x.options());
    Upfirdn2dArgs args{x.data_ptr(), f.data_ptr(), y.data_ptr(), x.size(0) * x.size(1), x.size(1),
                       x.stride(0), x.stride(1), x.stride(2), x.stride(3), x.size(2), x.size(3), out_h, out_w,
                       int(up_x), int(up_y), int(down_x), int(down_y), int(pad_x0), int(pad_y0), int(fw), int(fh),
                       f.dim() == 1, flip_filter, gain};
    check(insilico_ops::launch_upfirdn2d_cuda(args, dtype, c10::cuda::getCurrentCUDAStream()), "upfirdn2d");
    return y;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.doc() = "insilico custom ops, CUDA kernels";
    m.def("bias_act", &bias_act, "fused bias + activation + gain + clamp, and its first and second derivatives");
    m.def("upfirdn2d", &upfirdn2d, "polyphase upsample + FIR filter + downsample");
}
