// upfirdn2d on CUDA, polyphase: one thread per output sample sums only the filter taps that land on input
// samples (see upfirdn2d_cpu.cpp for the index algebra). Any up, down, padding and filter size; a separable
// filter is applied as its outer product. Half tensors accumulate in float. Includes only CUDA headers.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda_kernels.h"

namespace insilico_ops {
namespace {

template <typename T> struct Arith { using type = float; };
template <> struct Arith<double> { using type = double; };

template <typename S, typename T> __device__ __forceinline__ S load(const T& v) { return S(v); }
template <> __device__ __forceinline__ float load<float, __half>(const __half& v) { return __half2float(v); }

template <typename T, typename S> __device__ __forceinline__ T store(S v) { return T(v); }
template <> __device__ __forceinline__ __half store<__half, float>(float v) { return __float2half_rn(v); }

__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// first useful tap, the input it reads and how many useful taps, for output o of one axis
struct Taps {
    int64_t first_tap, first_input, count;
};

__device__ __forceinline__ Taps axis_taps(int64_t o, int64_t up, int64_t down, int64_t pad0, int64_t taps) {
    const int64_t k0 = o * down - pad0;  // zero-inserted position read by tap 0
    const int64_t t0 = ((-k0) % up + up) % up;
    const int64_t n = t0 >= taps ? 0 : (taps - t0 + up - 1) / up;
    return {t0, floor_div(k0 + t0, up), n};
}

template <typename T>
__global__ void upfirdn2d_kernel(Upfirdn2dArgs p) {
    using S = typename Arith<T>::type;
    const T* x = static_cast<const T*>(p.x);
    const S* f = static_cast<const S*>(p.f);
    T* y = static_cast<T*>(p.y);
    const int fw = p.filter_w, fh = p.separable ? p.filter_w : p.filter_h;
    const int64_t total = p.planes * p.out_h * p.out_w;
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t ox = i % p.out_w, oy = (i / p.out_w) % p.out_h, plane = i / (p.out_w * p.out_h);
        const T* src = x + (plane / p.channels) * p.stride_n + (plane % p.channels) * p.stride_c;
        const Taps ty = axis_taps(oy, p.up_y, p.down_y, p.pad_y0, fh);
        const Taps tx = axis_taps(ox, p.up_x, p.down_x, p.pad_x0, fw);
        S acc = S(0);
        for (int64_t jy = 0; jy < ty.count; ++jy) {
            const int64_t iy = ty.first_input + jy;
            if (iy < 0 || iy >= p.in_h) continue;
            // cross-correlation tap t reads the filter at t (flip_filter) or backwards (true convolution)
            const int64_t t = ty.first_tap + jy * p.up_y;
            const int64_t row = p.flip_filter ? t : fh - 1 - t;
            for (int64_t jx = 0; jx < tx.count; ++jx) {
                const int64_t ix = tx.first_input + jx;
                if (ix < 0 || ix >= p.in_w) continue;
                const int64_t u = tx.first_tap + jx * p.up_x;
                const int64_t col = p.flip_filter ? u : fw - 1 - u;
                const S w = p.separable ? f[row] * f[col] : f[row * fw + col];
                acc += w * load<S>(src[iy * p.stride_h + ix * p.stride_w]);
            }
        }
        y[i] = store<T>(acc * S(p.gain));
    }
}

template <typename T>
cudaError_t launch(const Upfirdn2dArgs& p, cudaStream_t stream) {
    const int threads = 256;
    const int64_t total = p.planes * p.out_h * p.out_w;
    const int64_t wanted = (total + threads - 1) / threads;
    const int blocks = int(wanted < 65535 ? (wanted > 0 ? wanted : 1) : 65535);
    upfirdn2d_kernel<T><<<blocks, threads, 0, stream>>>(p);
    return cudaGetLastError();
}

}  // namespace

cudaError_t launch_upfirdn2d_cuda(const Upfirdn2dArgs& args, CudaDtype dtype, cudaStream_t stream) {
    if (args.planes == 0 || args.out_h == 0 || args.out_w == 0) return cudaSuccess;
    switch (dtype) {
        case CudaDtype::Float16: return launch<__half>(args, stream);
        case CudaDtype::Float32: return launch<float>(args, stream);
        case CudaDtype::Float64: return launch<double>(args, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace insilico_ops
