// Python binding of the CPU kernels: the shared checks and allocation (op_binding.h), then the dtype dispatch.
#include <torch/extension.h>

#include <tuple>

#include "cpu_kernels.h"
#include "op_binding.h"

namespace {

using namespace insilico_ops;

const Backend kCpu{"cpu", at::kCPU};

// calls kernel<T>(args) for x's dtype: float32, float64 or bfloat16
template <typename Args>
void dispatch(const char* op, at::ScalarType dtype, const Args& args, void (*f32)(const Args&),
              void (*f64)(const Args&), void (*bf16)(const Args&)) {
    switch (dtype) {
        case at::kFloat: return f32(args);
        case at::kDouble: return f64(args);
        case at::kBFloat16: return bf16(args);
        default: TORCH_CHECK(false, op, " (cpu): supports float32, float64 and bfloat16, got ", dtype);
    }
}

std::tuple<at::Tensor, at::Tensor> bias_act(at::Tensor x, at::Tensor b, at::Tensor xref, at::Tensor yref,
                                            at::Tensor dy, int64_t grad, int64_t dim, int64_t act, double alpha,
                                            double gain, double clamp, bool want_db) {
    BiasActCall call = prepare_bias_act(kCpu, x, b, xref, yref, dy, grad, dim, act, alpha, gain, clamp);
    at::Tensor db = want_db ? at::zeros({call.args.channels}, call.x.options().dtype(at::kDouble)) : at::Tensor();
    call.args.db = want_db ? db.data_ptr<double>() : nullptr;
    if (call.x.numel() > 0)
        dispatch("bias_act", call.x.scalar_type(), call.args, &bias_act_cpu<float>, &bias_act_cpu<double>,
                 &bias_act_cpu<c10::BFloat16>);
    return {call.y, want_db ? db.to(call.x.scalar_type()) : at::empty({0}, call.x.options())};
}

at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up_x, int64_t up_y, int64_t down_x,
                     int64_t down_y, int64_t pad_x0, int64_t pad_x1, int64_t pad_y0, int64_t pad_y1,
                     bool flip_filter, double gain) {
    const Upfirdn2dCall call = prepare_upfirdn2d(kCpu, x, f, up_x, up_y, down_x, down_y, pad_x0, pad_x1, pad_y0,
                                                 pad_y1, flip_filter, gain);
    dispatch("upfirdn2d", x.scalar_type(), call.args, &upfirdn2d_cpu<float>, &upfirdn2d_cpu<double>,
             &upfirdn2d_cpu<c10::BFloat16>);
    return call.y;
}

std::tuple<at::Tensor, at::Tensor> filtered_lrelu(const at::Tensor& x, const at::Tensor& fu, const at::Tensor& fd,
                                                  const at::Tensor& b, const at::Tensor& signs, int64_t mode,
                                                  int64_t up, int64_t down, int64_t up_pad_x0, int64_t up_pad_y0,
                                                  int64_t down_pad_x0, int64_t down_pad_y0, int64_t mid_w,
                                                  int64_t mid_h, int64_t out_w, int64_t out_h, bool flip_filter,
                                                  double filter_gain, double gain, double slope, double clamp) {
    const FilteredLReluCall call =
        prepare_filtered_lrelu(kCpu, x, fu, fd, b, signs, mode, up, down, up_pad_x0, up_pad_y0, down_pad_x0,
                               down_pad_y0, mid_w, mid_h, out_w, out_h, flip_filter, filter_gain, gain, slope, clamp);
    dispatch("filtered_lrelu", x.scalar_type(), call.args, &filtered_lrelu_cpu<float>, &filtered_lrelu_cpu<double>,
             &filtered_lrelu_cpu<c10::BFloat16>);
    return {call.y, call.signs};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.doc() = "insilico custom ops, CPU kernels";
    m.def("bias_act", &bias_act, "fused bias + activation + gain + clamp, and its first and second derivatives");
    m.def("upfirdn2d", &upfirdn2d, "polyphase upsample + FIR filter + downsample");
    m.def("filtered_lrelu", &filtered_lrelu,
          "fused bias + upsample + leaky ReLU + clamp + downsample (mode 0, 1), or its derivative's linear map "
          "from the sign bytes (mode 2)");
}
