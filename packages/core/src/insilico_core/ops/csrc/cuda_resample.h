// Device helpers shared by the CUDA resampling kernels (upfirdn2d.cu, filtered_lrelu.cu): the arithmetic type of
// a storage type, loads and stores, and the polyphase taps of one axis (the index algebra of cpu_polyphase.h).
// Includes only CUDA headers.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace insilico_ops {

// arithmetic type of a storage type: double for double, float otherwise
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

// the filter index of cross-correlation tap t: the tap itself (flip_filter) or read backwards (a true convolution)
__device__ __forceinline__ int64_t filter_index(int64_t t, int64_t taps, bool flip_filter) {
    return flip_filter ? t : taps - 1 - t;
}

// a grid-stride launch of `total` threads in blocks of 256
struct GridSize {
    int blocks, threads;
};

inline GridSize grid_size(int64_t total) {
    const int threads = 256;
    const int64_t wanted = (total + threads - 1) / threads;
    return {int(wanted < 65535 ? (wanted > 0 ? wanted : 1) : 65535), threads};
}

}  // namespace insilico_ops
