// bias_act on CUDA: one thread per element (grid-stride), the activation and derivative order fixed at compile
// time. Half tensors compute in float, double tensors in double. Includes only CUDA headers.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>

#include "activations.h"
#include "cuda_kernels.h"

namespace insilico_ops {
namespace {

template <typename T> struct Arith { using type = float; };
template <> struct Arith<double> { using type = double; };

template <typename S, typename T> __device__ __forceinline__ S load(const T* p, int64_t i) { return S(p[i]); }
template <> __device__ __forceinline__ float load<float, __half>(const __half* p, int64_t i) { return __half2float(p[i]); }

template <typename T, typename S> __device__ __forceinline__ T store(S v) { return T(v); }
template <> __device__ __forceinline__ __half store<__half, float>(float v) { return __float2half_rn(v); }

template <typename T, int A, int G>
__global__ void bias_act_kernel(BiasActArgs p, typename Arith<T>::type alpha, typename Arith<T>::type gain,
                                typename Arith<T>::type inv_gain, typename Arith<T>::type clamp_hi) {
    using S = typename Arith<T>::type;
    const T* x = static_cast<const T*>(p.x);
    const T* b = static_cast<const T*>(p.b);
    const T* xref = static_cast<const T*>(p.xref);
    const T* yref = static_cast<const T*>(p.yref);
    const T* dy = static_cast<const T*>(p.dy);
    T* y = static_cast<T*>(p.y);
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.size; i += stride) {
        const S bias = b ? load<S>(b, (i / p.step) % p.channels) : S(0);
        S v = load<S>(x, i);
        const S xr = (G > 0 && reads_input(A)) ? load<S>(xref, i) + bias : S(0);
        const S yr = (G > 0 && !reads_input(A) && A != LINEAR) ? load<S>(yref, i) : S(0);
        const S d = G == 2 ? load<S>(dy, i) : S(0);
        if (G == 0) v += bias;
        y[i] = store<T>(bias_act_element<A, G, S>(v, xr, yr, d, alpha, gain, inv_gain, clamp_hi));
    }
}

template <typename T, int A, int G>
cudaError_t launch(const BiasActArgs& p, cudaStream_t stream) {
    using S = typename Arith<T>::type;
    const int threads = 256;
    const int64_t wanted = (p.size + threads - 1) / threads;
    const int blocks = int(wanted < 65535 ? (wanted > 0 ? wanted : 1) : 65535);
    const S inv_gain = p.gain != 0 ? S(1 / p.gain) : S(0);
    const S clamp_hi = p.clamp >= 0 ? S(p.clamp) : std::numeric_limits<S>::infinity();
    bias_act_kernel<T, A, G><<<blocks, threads, 0, stream>>>(p, S(p.alpha), S(p.gain), inv_gain, clamp_hi);
    return cudaGetLastError();
}

template <typename T, int A>
cudaError_t launch_grad(const BiasActArgs& p, cudaStream_t stream) {
    if (p.grad == 0) return launch<T, A, 0>(p, stream);
    if (p.grad == 1) return launch<T, A, 1>(p, stream);
    return launch<T, A, 2>(p, stream);
}

template <typename T>
cudaError_t launch_act(const BiasActArgs& p, cudaStream_t stream) {
    switch (p.act) {
        case LINEAR: return launch_grad<T, LINEAR>(p, stream);
        case RELU: return launch_grad<T, RELU>(p, stream);
        case LRELU: return launch_grad<T, LRELU>(p, stream);
        case TANH: return launch_grad<T, TANH>(p, stream);
        case SIGMOID: return launch_grad<T, SIGMOID>(p, stream);
        case ELU: return launch_grad<T, ELU>(p, stream);
        case SELU: return launch_grad<T, SELU>(p, stream);
        case SOFTPLUS: return launch_grad<T, SOFTPLUS>(p, stream);
        case SWISH: return launch_grad<T, SWISH>(p, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t launch_bias_act_cuda(const BiasActArgs& args, CudaDtype dtype, cudaStream_t stream) {
    if (args.size == 0) return cudaSuccess;
    if (args.db != nullptr) return cudaErrorInvalidValue;
    switch (dtype) {
        case CudaDtype::Float16: return launch_act<__half>(args, stream);
        case CudaDtype::Float32: return launch_act<float>(args, stream);
        case CudaDtype::Float64: return launch_act<double>(args, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace insilico_ops
