// Python binding of the CUDA kernels: the shared checks and allocation (op_binding.h) on the tensors' device and
// stream, then the launchers of bias_act.cu / upfirdn2d.cu / filtered_lrelu.cu with raw pointers.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/extension.h>

#include <tuple>
#include <vector>

#include "cuda_kernels.h"
#include "op_binding.h"

namespace {

using namespace insilico_ops;

const Backend kCuda{"cuda", at::kCUDA};

CudaDtype cuda_dtype(const at::Tensor& x, const char* op) {
    switch (x.scalar_type()) {
        case at::kHalf: return CudaDtype::Float16;
        case at::kFloat: return CudaDtype::Float32;
        case at::kDouble: return CudaDtype::Float64;
        default: TORCH_CHECK(false, op, " (cuda): supports float16, float32 and float64, got ", x.scalar_type());
    }
}

void check(cudaError_t status, const char* op) {
    TORCH_CHECK(status == cudaSuccess, op, " (cuda): kernel launch failed: ", cudaGetErrorString(status));
}

std::tuple<at::Tensor, at::Tensor> bias_act(at::Tensor x, at::Tensor b, at::Tensor xref, at::Tensor yref,
                                            at::Tensor dy, int64_t grad, int64_t dim, int64_t act, double alpha,
                                            double gain, double clamp, bool want_db) {
    const BiasActCall call = prepare_bias_act(kCuda, x, b, xref, yref, dy, grad, dim, act, alpha, gain, clamp);
    const c10::cuda::CUDAGuard guard(x.device());
    const CudaDtype dtype = cuda_dtype(x, "bias_act");
    check(launch_bias_act_cuda(call.args, dtype, c10::cuda::getCurrentCUDAStream()), "bias_act");
    if (!want_db) return {call.y, at::empty({0}, x.options())};
    std::vector<int64_t> dims;
    for (int64_t i = 0; i < x.dim(); ++i)
        if (i != dim) dims.push_back(i);
    const auto accumulate = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    return {call.y, call.y.sum(dims, false, accumulate).to(x.scalar_type())};
}

at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up_x, int64_t up_y, int64_t down_x,
                     int64_t down_y, int64_t pad_x0, int64_t pad_x1, int64_t pad_y0, int64_t pad_y1,
                     bool flip_filter, double gain) {
    const Upfirdn2dCall call = prepare_upfirdn2d(kCuda, x, f, up_x, up_y, down_x, down_y, pad_x0, pad_x1, pad_y0,
                                                 pad_y1, flip_filter, gain);
    const c10::cuda::CUDAGuard guard(x.device());
    const CudaDtype dtype = cuda_dtype(x, "upfirdn2d");
    check(launch_upfirdn2d_cuda(call.args, dtype, c10::cuda::getCurrentCUDAStream()), "upfirdn2d");
    return call.y;
}

std::tuple<at::Tensor, at::Tensor> filtered_lrelu(const at::Tensor& x, const at::Tensor& fu, const at::Tensor& fd,
                                                  const at::Tensor& b, const at::Tensor& signs, int64_t mode,
                                                  int64_t up, int64_t down, int64_t up_pad_x0, int64_t up_pad_y0,
                                                  int64_t down_pad_x0, int64_t down_pad_y0, int64_t mid_w,
                                                  int64_t mid_h, int64_t out_w, int64_t out_h, bool flip_filter,
                                                  double filter_gain, double gain, double slope, double clamp) {
    const FilteredLReluCall call =
        prepare_filtered_lrelu(kCuda, x, fu, fd, b, signs, mode, up, down, up_pad_x0, up_pad_y0, down_pad_x0,
                               down_pad_y0, mid_w, mid_h, out_w, out_h, flip_filter, filter_gain, gain, slope, clamp);
    const c10::cuda::CUDAGuard guard(x.device());
    const CudaDtype dtype = cuda_dtype(x, "filtered_lrelu");
    const auto arithmetic = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    at::Tensor intermediate = at::empty({x.size(0), x.size(1), mid_h, mid_w}, x.options().dtype(arithmetic));
    check(launch_filtered_lrelu_cuda(call.args, intermediate.data_ptr(), dtype, c10::cuda::getCurrentCUDAStream()),
          "filtered_lrelu");
    return {call.y, call.signs};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.doc() = "insilico custom ops, CUDA kernels";
    m.def("bias_act", &bias_act, "fused bias + activation + gain + clamp, and its first and second derivatives");
    m.def("upfirdn2d", &upfirdn2d, "polyphase upsample + FIR filter + downsample");
    m.def("filtered_lrelu", &filtered_lrelu,
          "bias + upsample + leaky ReLU + clamp + downsample (mode 0, 1), or its derivative's linear map from the "
          "sign bytes (mode 2)");
}
