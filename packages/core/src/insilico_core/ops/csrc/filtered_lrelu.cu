// filtered_lrelu on CUDA, in two kernels and kept simple: the first computes each intermediate sample (up stage,
// then the activation and its sign byte, or the sign mask of the derivative) into the scratch image, one thread
// per sample; the second computes each output sample from the scratch image (down stage), one thread per
// sample. Half tensors compute in float, double tensors in double. Includes only CUDA headers.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda_kernels.h"
#include "cuda_resample.h"

namespace insilico_ops {
namespace {

// weight of cross-correlation taps (ty, tx) of a filter: separable [w] (outer product) or 2-D [h, w]
template <typename S>
__device__ __forceinline__ S tap_weight(const S* f, int64_t ty, int64_t tx, int w, int h, bool separable,
                                        bool flip_filter) {
    const int64_t rows = separable ? w : h;
    const int64_t row = filter_index(ty, rows, flip_filter), col = filter_index(tx, w, flip_filter);
    return separable ? f[row] * f[col] : f[row * w + col];
}

// intermediate[plane, my, mx]: up stage of x (+ b), then the activation (mode 0, 1) or the mask (mode 2)
template <typename T>
__global__ void up_stage_kernel(FilteredLReluArgs p, typename Arith<T>::type* intermediate) {
    using S = typename Arith<T>::type;
    const T* x = static_cast<const T*>(p.x);
    const T* b = static_cast<const T*>(p.b);
    const S* fu = static_cast<const S*>(p.fu);
    const int fu_taps_y = p.fu_separable ? p.fu_w : p.fu_h;
    const S scale = S(p.filter_gain * p.gain), slope = S(p.slope);
    const S clamp = S(p.clamp);
    const int64_t total = p.planes * p.mid_h * p.mid_w;
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t mx = i % p.mid_w, my = (i / p.mid_w) % p.mid_h, plane = i / (p.mid_w * p.mid_h);
        const T* src = x + (plane / p.channels) * p.stride_n + (plane % p.channels) * p.stride_c;
        const S bias = b ? load<S>(b[plane % p.channels]) : S(0);
        const Taps ty = axis_taps(my, p.up, 1, p.up_pad_y0, fu_taps_y);
        const Taps tx = axis_taps(mx, p.up, 1, p.up_pad_x0, p.fu_w);
        S acc = S(0);
        for (int64_t jy = 0; jy < ty.count; ++jy) {
            const int64_t iy = ty.first_input + jy;
            if (iy < 0 || iy >= p.in_h) continue;
            for (int64_t jx = 0; jx < tx.count; ++jx) {
                const int64_t ix = tx.first_input + jx;
                if (ix < 0 || ix >= p.in_w) continue;
                const S w = tap_weight(fu, ty.first_tap + jy * p.up, tx.first_tap + jx * p.up, p.fu_w, p.fu_h,
                                       p.fu_separable, p.flip_filter);
                acc += w * (load<S>(src[iy * p.stride_h + ix * p.stride_w]) + bias);
            }
        }
        S v = scale * acc;
        if (p.mode == 2) {
            const uint8_t s = p.signs[i];
            v = (s & 2) ? S(0) : ((s & 1) ? v * slope : v);
        } else {
            const bool negative = !(v > S(0));
            if (negative) v *= slope;
            const bool clamped = p.clamp >= 0 && (v > clamp || v < -clamp);
            if (clamped) v = v > S(0) ? clamp : -clamp;
            if (p.mode == 1) p.signs[i] = uint8_t(negative) | uint8_t(uint8_t(clamped) << 1);
        }
        intermediate[i] = v;
    }
}

// y[plane, oy, ox]: down stage of the intermediate image
template <typename T>
__global__ void down_stage_kernel(FilteredLReluArgs p, const typename Arith<T>::type* intermediate) {
    using S = typename Arith<T>::type;
    const S* fd = static_cast<const S*>(p.fd);
    T* y = static_cast<T*>(p.y);
    const int fd_taps_y = p.fd_separable ? p.fd_w : p.fd_h;
    const int64_t total = p.planes * p.out_h * p.out_w;
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t ox = i % p.out_w, oy = (i / p.out_w) % p.out_h, plane = i / (p.out_w * p.out_h);
        const S* src = intermediate + plane * p.mid_h * p.mid_w;
        S acc = S(0);
        for (int64_t ty = 0; ty < fd_taps_y; ++ty) {
            const int64_t my = oy * p.down - p.down_pad_y0 + ty;
            if (my < 0 || my >= p.mid_h) continue;
            for (int64_t tx = 0; tx < p.fd_w; ++tx) {
                const int64_t mx = ox * p.down - p.down_pad_x0 + tx;
                if (mx < 0 || mx >= p.mid_w) continue;
                acc += tap_weight(fd, ty, tx, p.fd_w, p.fd_h, p.fd_separable, p.flip_filter) * src[my * p.mid_w + mx];
            }
        }
        y[i] = store<T>(acc);
    }
}

template <typename T>
cudaError_t launch(const FilteredLReluArgs& p, void* intermediate, cudaStream_t stream) {
    using S = typename Arith<T>::type;
    S* mid = static_cast<S*>(intermediate);
    const GridSize up_grid = grid_size(p.planes * p.mid_h * p.mid_w);
    up_stage_kernel<T><<<up_grid.blocks, up_grid.threads, 0, stream>>>(p, mid);
    const cudaError_t status = cudaGetLastError();
    if (status != cudaSuccess) return status;
    const GridSize down_grid = grid_size(p.planes * p.out_h * p.out_w);
    down_stage_kernel<T><<<down_grid.blocks, down_grid.threads, 0, stream>>>(p, mid);
    return cudaGetLastError();
}

}  // namespace

cudaError_t launch_filtered_lrelu_cuda(const FilteredLReluArgs& args, void* intermediate, CudaDtype dtype,
                                       cudaStream_t stream) {
    if (args.planes == 0 || args.out_h == 0 || args.out_w == 0) return cudaSuccess;
    switch (dtype) {
        case CudaDtype::Float16: return launch<__half>(args, intermediate, stream);
        case CudaDtype::Float32: return launch<float>(args, intermediate, stream);
        case CudaDtype::Float64: return launch<double>(args, intermediate, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace insilico_ops
