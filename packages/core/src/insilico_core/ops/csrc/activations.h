// The activation table of bias_act: value, first and second derivative, each written in terms of what the
// backward pass saved (the output y for most activations, the biased input for swish). Plain C++ usable from both
// the CPU kernels and the CUDA kernels (INSILICO_HOST_DEVICE is __host__ __device__ under nvcc).
#pragma once

#include <cmath>

#ifdef __CUDACC__
#define INSILICO_HOST_DEVICE __host__ __device__ __forceinline__
#define INSILICO_HOST_DEVICE_CONSTEXPR __host__ __device__ constexpr
#else
#define INSILICO_HOST_DEVICE inline
#define INSILICO_HOST_DEVICE_CONSTEXPR constexpr
#endif

namespace insilico_ops {

#ifndef __CUDACC__
// host code: the float overloads of the math functions (under nvcc the CUDA math overloads serve both sides)
using std::exp;
using std::expm1;
using std::fabs;
using std::log1p;
using std::tanh;
#endif

enum Act : int { LINEAR = 1, RELU = 2, LRELU = 3, TANH = 4, SIGMOID = 5, ELU = 6, SELU = 7, SOFTPLUS = 8, SWISH = 9 };

// true when the derivatives read the biased input (swish) rather than the output
INSILICO_HOST_DEVICE_CONSTEXPR bool reads_input(int act) { return act == SWISH; }

template <typename S>
struct SeluConstants {
    static constexpr S alpha = S(1.6732632423543772848170429916717);
    static constexpr S scale = S(1.0507009873554804934193349852946);
};

template <typename S>
INSILICO_HOST_DEVICE S sigmoid_of(S v) {
    return S(1) / (S(1) + exp(-v));
}

// act(v); `alpha` is the negative slope of lrelu
template <int A, typename S>
INSILICO_HOST_DEVICE S act_value(S v, S alpha) {
    if (A == LINEAR) return v;
    if (A == RELU) return v > S(0) ? v : S(0);
    if (A == LRELU) return v * (v > S(0) ? S(1) : alpha);
    if (A == TANH) return tanh(v);
    if (A == SIGMOID) return sigmoid_of(v);
    if (A == ELU) return v >= S(0) ? v : expm1(v);
    if (A == SELU) return v >= S(0) ? SeluConstants<S>::scale * v : SeluConstants<S>::scale * SeluConstants<S>::alpha * expm1(v);
    if (A == SOFTPLUS) return (v > S(0) ? v : S(0)) + log1p(exp(-fabs(v)));
    if (A == SWISH) return v * sigmoid_of(v);
    return v;
}

// act'(.) from yy = y / gain (the un-gained output), or from xr = x + b for swish
template <int A, typename S>
INSILICO_HOST_DEVICE S act_first_derivative(S yy, S xr, S alpha) {
    if (A == LINEAR) return S(1);
    if (A == RELU) return yy > S(0) ? S(1) : S(0);
    if (A == LRELU) return yy > S(0) ? S(1) : alpha;
    if (A == TANH) return S(1) - yy * yy;
    if (A == SIGMOID) return yy * (S(1) - yy);
    if (A == ELU) return yy >= S(0) ? S(1) : yy + S(1);
    if (A == SELU) return yy >= S(0) ? SeluConstants<S>::scale : yy + SeluConstants<S>::scale * SeluConstants<S>::alpha;
    if (A == SOFTPLUS) return -expm1(-yy);
    if (A == SWISH) {
        S s = sigmoid_of(xr);
        return s * (S(1) + xr * (S(1) - s));
    }
    return S(1);
}

// act''(.), same arguments; zero for the piecewise-linear activations
template <int A, typename S>
INSILICO_HOST_DEVICE S act_second_derivative(S yy, S xr, S alpha) {
    if (A == TANH) return S(-2) * yy * (S(1) - yy * yy);
    if (A == SIGMOID) return yy * (S(1) - yy) * (S(1) - S(2) * yy);
    if (A == ELU) return yy >= S(0) ? S(0) : yy + S(1);
    if (A == SELU) return yy >= S(0) ? S(0) : yy + SeluConstants<S>::scale * SeluConstants<S>::alpha;
    if (A == SOFTPLUS) {
        S c = exp(-yy);
        return c * (S(1) - c);
    }
    if (A == SWISH) {
        S s = sigmoid_of(xr);
        return s * (S(1) - s) * (S(2) + xr * (S(1) - S(2) * s));
    }
    return S(0);
}

// One element of bias_act for derivative order G (see BiasActArgs). v: x + b (G = 0) or the incoming gradient;
// xr: x + b (swish only); yr: the saved output; d: dy (G = 2); inv_gain: 1 / gain (0 when gain is 0);
// clamp_hi: the clamp level, +infinity for no clamping. Written without branches so that CPU loops vectorise.
template <int A, int G, typename S>
INSILICO_HOST_DEVICE S bias_act_element(S v, S xr, S yr, S d, S alpha, S gain, S inv_gain, S clamp_hi) {
    if (G == 0) {
        S y = act_value<A>(v, alpha) * gain;
        y = y > clamp_hi ? clamp_hi : y;
        return y < -clamp_hi ? -clamp_hi : y;
    }
    if (A == SWISH) yr = act_value<A>(xr, alpha) * gain;
    S yy = yr * inv_gain;
    S slope = G == 1 ? act_first_derivative<A>(yy, xr, alpha) : act_second_derivative<A>(yy, xr, alpha) * d;
    S y = v * slope * gain;
    return (yr > -clamp_hi && yr < clamp_hi) ? y : S(0);
}

}  // namespace insilico_ops
