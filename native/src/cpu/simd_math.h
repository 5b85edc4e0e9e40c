// Vector math written once against the SIMD traits (simd_scalar.h contract): exp, erf, sigmoid and
// the activations built on them. Accuracy: exp ~2 ulp on [-87, 88.7] (inputs below -87.3 give ~1e-38,
// above 88.72 +inf); erf absolute error < 2e-7 (rational approximation, see erf_v).
#pragma once

namespace sdn::cpu {

template <class V>
inline typename V::R exp_v(typename V::R x) {
    using R = typename V::R;
    // above ~88.72 the two 2^n factors overflow to +inf, as expf does
    x = V::min(V::max(x, V::set1(-87.33654f)), V::set1(89.0f));
    const R n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
    R r = V::fnmadd(n, V::set1(0.693359375f), x);        // ln2 split in a short high part...
    r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);      // ...and the rest
    // e^r on |r| <= ln2/2: degree-6 polynomial (Taylor coefficients refined, cephes expf)
    R p = V::set1(1.9875691500e-4f);
    p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
    p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
    p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
    p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
    p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
    const R r2 = V::mul(r, r);
    p = V::fmadd(p, r2, V::add(r, V::set1(1.0f)));
    // 2^n, split in two factors so that n = 128 (x near 88.4) does not overflow the exponent field
    const R n1 = V::min(n, V::set1(127.0f));
    return V::mul(V::mul(p, V::pow2i(n1)), V::pow2i(V::sub(n, n1)));
}

// 2^x for x <= 0 (softmax in the log2 domain): inputs below -126 give 2^-126 (~1.2e-38, treated as 0
// by callers that mask); relative error ~2e-7 (degree-6 polynomial of 2^f on |f| <= 1/2).
template <class V>
inline typename V::R exp2_nonpos_v(typename V::R x) {
    using R = typename V::R;
    x = V::max(x, V::set1(-126.0f));
    const R n = V::round(x);
    const R f = V::sub(x, n);
    R p = V::set1(1.5403530393381606e-4f);
    p = V::fmadd(p, f, V::set1(1.3333558146428443e-3f));
    p = V::fmadd(p, f, V::set1(9.6181291076284772e-3f));
    p = V::fmadd(p, f, V::set1(5.5504108664821580e-2f));
    p = V::fmadd(p, f, V::set1(2.4022650695910071e-1f));
    p = V::fmadd(p, f, V::set1(6.9314718055994531e-1f));
    p = V::fmadd(p, f, V::set1(1.0f));
    return V::mul(p, V::pow2i(n));
}

// erf(x) = 1 - t * exp(-x^2 + P(t)), t = 1 / (1 + 0.5|x|)  (Numerical Recipes erfc, fractional error
// < 1.2e-7), then the sign of x restored.
template <class V>
inline typename V::R erf_v(typename V::R x) {
    using R = typename V::R;
    const R ax = V::abs(x);
    const R t = V::div(V::set1(1.0f), V::fmadd(V::set1(0.5f), ax, V::set1(1.0f)));
    R p = V::set1(0.17087277f);
    p = V::fmadd(p, t, V::set1(-0.82215223f));
    p = V::fmadd(p, t, V::set1(1.48851587f));
    p = V::fmadd(p, t, V::set1(-1.13520398f));
    p = V::fmadd(p, t, V::set1(0.27886807f));
    p = V::fmadd(p, t, V::set1(-0.18628806f));
    p = V::fmadd(p, t, V::set1(0.09678418f));
    p = V::fmadd(p, t, V::set1(0.37409196f));
    p = V::fmadd(p, t, V::set1(1.00002368f));
    p = V::fmadd(p, t, V::set1(-1.26551223f));
    const R e = exp_v<V>(V::sub(p, V::mul(ax, ax)));
    const R erfc = V::mul(t, e);
    const R res = V::sub(V::set1(1.0f), erfc);
    return V::with_sign_of(V::max(res, V::zero()), x);
}

template <class V>
inline typename V::R sigmoid_v(typename V::R x) {
    return V::div(V::set1(1.0f), V::add(V::set1(1.0f), exp_v<V>(V::sub(V::zero(), x))));
}

template <class V>
inline typename V::R silu_v(typename V::R x) { return V::mul(x, sigmoid_v<V>(x)); }

// exact GELU: 0.5 x (1 + erf(x / sqrt 2))
template <class V>
inline typename V::R gelu_v(typename V::R x) {
    const typename V::R e = erf_v<V>(V::mul(x, V::set1(0.70710678118654752f)));
    return V::mul(V::mul(V::set1(0.5f), x), V::add(V::set1(1.0f), e));
}

// x * sigmoid(1.702 x)
template <class V>
inline typename V::R quick_gelu_v(typename V::R x) { return V::mul(x, sigmoid_v<V>(V::mul(x, V::set1(1.702f)))); }

}  // namespace sdn::cpu
