// The arguments of the kernels, shared by the CPU kernels (cpu_kernels.h), the CUDA launchers (cuda_kernels.h)
// and the argument checks of both bindings (op_binding.h): raw pointers, sizes and scalars only.
#pragma once

#include <cstdint>

namespace insilico_ops {

// bias_act over a dense tensor of `size` elements whose bias channel of element i is (i / step) % channels.
//   grad 0: y = clamp(gain * act(x + b))
//   grad 1: y = x * gain * act'(ref) * [|yref| < clamp]              (x: incoming gradient dy)
//   grad 2: y = x * dy * gain * act''(ref) * [|yref| < clamp]        (x: incoming gradient of dx)
// where ref = xref + b for swish, yref / gain for the others. db (length `channels`, may be null) receives the
// sum of y over all elements of each channel.
struct BiasActArgs {
    const void* x;
    const void* b;     // null: no bias
    const void* xref;  // null when the activation does not read it
    const void* yref;
    const void* dy;  // grad 2 only
    void* y;
    double* db;
    int64_t size;
    int64_t channels;
    int64_t step;
    int grad;
    int act;  // 1 linear, 2 relu, 3 lrelu, 4 tanh, 5 sigmoid, 6 elu, 7 selu, 8 softplus, 9 swish
    double alpha;
    double gain;
    double clamp;  // < 0: no clamp
};

// upfirdn2d over planes = N * C planes of x (element (n, c, h, w) at n*stride_n + c*stride_c + h*stride_h +
// w*stride_w) into the contiguous y [planes, out_h, out_w]. The filter (float, or double for double tensors)
// is 2-D [filter_h, filter_w] or, when separable, 1-D [filter_w] applied on both axes.
struct Upfirdn2dArgs {
    const void* x;
    const void* f;
    void* y;
    int64_t planes;
    int64_t channels;
    int64_t stride_n, stride_c, stride_h, stride_w;
    int64_t in_h, in_w, out_h, out_w;
    int up_x, up_y, down_x, down_y, pad_x0, pad_y0;
    int filter_w, filter_h;
    bool separable;
    bool flip_filter;
    double gain;
};

// filtered_lrelu over planes = N * C planes of x (strided as in Upfirdn2dArgs) into the contiguous y
// [planes, out_h, out_w], through an intermediate grid [mid_h, mid_w] that is never stored whole:
//   up stage:   add b (mode 0 and 1), upsample by `up` (zero insertion), pad by up_pad_{x,y}0 before (the far
//               side follows from mid_w, mid_h), cross-correlate with the weights of fu, times filter_gain;
//   activation: mode 0, 1: v = clamp(lrelu(gain * v, slope)); mode 1 also writes the sign byte of each
//               intermediate sample (bit 0: gain * v <= 0, the slope applied; bit 1: clamped; a kernel may
//               also set bit 1 on samples that no output reads, whose derivative is zero either way);
//               mode 2 (the linear map of the derivative): v = gain * v * (bit 0 ? slope : 1) * (bit 1 ? 0 : 1)
//               with the sign bytes read from `signs`;
//   down stage: pad by down_pad_{x,y}0 before, cross-correlate with the weights of fd, keep every down-th sample.
// A filter (float, or double for double tensors) is 2-D [h, w] or, when separable, 1-D [w] applied on both
// axes; flip_filter false means a true convolution (the filter read backwards).
struct FilteredLReluArgs {
    const void* x;
    const void* b;  // null: no bias
    const void* fu;
    const void* fd;
    uint8_t* signs;  // [planes, mid_h, mid_w]: written in mode 1, read in mode 2, null in mode 0
    void* y;
    int64_t planes;
    int64_t channels;
    int64_t stride_n, stride_c, stride_h, stride_w;
    int64_t in_h, in_w, mid_h, mid_w, out_h, out_w;
    int up, down;
    int up_pad_x0, up_pad_y0, down_pad_x0, down_pad_y0;
    int fu_w, fu_h, fd_w, fd_h;
    bool fu_separable, fd_separable;
    bool flip_filter;
    int mode;
    double filter_gain;
    double gain;
    double slope;
    double clamp;  // < 0: no clamp
};

}  // namespace insilico_ops
