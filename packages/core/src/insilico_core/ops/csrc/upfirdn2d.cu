// upfirdn2d on CUDA, polyphase: one thread per output sample sums only the filter taps that land on input
// samples (see cpu_polyphase.h for the index algebra). Any up, down, padding and filter size; a separable
// filter is applied as its outer product. Half tensors accumulate in float. Includes only CUDA headers.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda_kernels.h"
#include "cuda_resample.h"

namespace insilico_ops {
namespace {

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
            const int64_t row = filter_index(ty.first_tap + jy * p.up_y, fh, p.flip_filter);
            for (int64_t jx = 0; jx < tx.count; ++jx) {
                const int64_t ix = tx.first_input + jx;
                if (ix < 0 || ix >= p.in_w) continue;
                const int64_t col = filter_index(tx.first_tap + jx * p.up_x, fw, p.flip_filter);
                const S w = p.separable ? f[row] * f[col] : f[row * fw + col];
                acc += w * load<S>(src[iy * p.stride_h + ix * p.stride_w]);
            }
        }
        y[i] = store<T>(acc * S(p.gain));
    }
}

template <typename T>
cudaError_t launch(const Upfirdn2dArgs& p, cudaStream_t stream) {
    const GridSize grid = grid_size(p.planes * p.out_h * p.out_w);
    upfirdn2d_kernel<T><<<grid.blocks, grid.threads, 0, stream>>>(p);
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
