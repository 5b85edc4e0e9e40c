/**
 * Adaptive Gauss-Kronrod quadrature (21-point Kronrod / 10-point Gauss pairs with interval bisection), the
 * rule and error estimate of QUADPACK's QK21/QAGS. For the smooth low-degree polynomials the LMS scheduler
 * integrates, the first 21-point evaluation already meets the tolerance, so the result agrees with
 * `scipy.integrate.quad` to rounding (~1e-15 relative), and the evaluation order matches it.
 */

/** Kronrod abscissae (descending, last = 0) of the 21-point rule on [-1, 1]. */
const XGK = [
  0.995657163025808080735527280689003, 0.973906528517171720077964012084452, 0.930157491355708226001207180059508,
  0.865063366688984510732096688423493, 0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
  0.562757134668604683339000099272694, 0.433395394129247190799265943165784, 0.29439286270146019813112660310386,
  0.14887433898163121088482600112972, 0,
];
/** Kronrod weights matching XGK. */
const WGK = [
  0.011694638867371874278064396062192, 0.03255816230796472747881897245939, 0.05475589657435199603138130024458,
  0.07503967481091995276704314091619, 0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
  0.123491976262065851077208745740064, 0.134709217311473325928054001771707, 0.142775938577060080797094273138717,
  0.147739104901338491374841515972068, 0.149445554002916905664936468389821,
];
/** Weights of the embedded 10-point Gauss rule (its nodes are XGK[1], XGK[3], ..., XGK[9]). */
const WG = [
  0.066671344308688137593568809893332, 0.149451349150580593145776339657697, 0.219086362515982043995534934228163,
  0.269266719309996355091226921569469, 0.295524224714752870173892994651338,
];

const EPMACH = Number.EPSILON;
const UFLOW = Number.MIN_VALUE * 2 ** 52; // smallest normal double

interface Piece {
  a: number;
  b: number;
  result: number;
  error: number;
}

function gk21(f: (x: number) => number, a: number, b: number): { result: number; abserr: number } {
  const centr = 0.5 * (a + b);
  const hlgth = 0.5 * (b - a);
  const dhlgth = Math.abs(hlgth);
  const fv1 = new Array<number>(10);
  const fv2 = new Array<number>(10);
  let resg = 0;
  const fc = f(centr);
  let resk = WGK[10]! * fc;
  let resabs = Math.abs(resk);
  for (let j = 0; j < 5; j++) {
    const jtw = 2 * j + 1;
    const absc = hlgth * XGK[jtw]!;
    const fval1 = f(centr - absc);
    const fval2 = f(centr + absc);
    fv1[jtw] = fval1;
    fv2[jtw] = fval2;
    const fsum = fval1 + fval2;
    resg += WG[j]! * fsum;
    resk += WGK[jtw]! * fsum;
    resabs += WGK[jtw]! * (Math.abs(fval1) + Math.abs(fval2));
  }
  for (let j = 0; j < 5; j++) {
    const jtwm1 = 2 * j;
    const absc = hlgth * XGK[jtwm1]!;
    const fval1 = f(centr - absc);
    const fval2 = f(centr + absc);
    fv1[jtwm1] = fval1;
    fv2[jtwm1] = fval2;
    const fsum = fval1 + fval2;
    resk += WGK[jtwm1]! * fsum;
    resabs += WGK[jtwm1]! * (Math.abs(fval1) + Math.abs(fval2));
  }
  const reskh = resk * 0.5;
  let resasc = WGK[10]! * Math.abs(fc - reskh);
  for (let j = 0; j < 10; j++) resasc += WGK[j]! * (Math.abs(fv1[j]! - reskh) + Math.abs(fv2[j]! - reskh));
  const result = resk * hlgth;
  resabs *= dhlgth;
  resasc *= dhlgth;
  let abserr = Math.abs((resk - resg) * hlgth);
  if (resasc !== 0 && abserr !== 0) abserr = resasc * Math.min(1, (200 * abserr / resasc) ** 1.5);
  if (resabs > UFLOW / (50 * EPMACH)) abserr = Math.max(EPMACH * 50 * resabs, abserr);
  return { result, abserr };
}

export interface QuadOptions {
  /** Absolute tolerance (scipy's default 1.49e-8). */
  epsabs?: number;
  /** Relative tolerance (scipy's default 1.49e-8; diffusers' LMS passes 1e-4). */
  epsrel?: number;
  /** Maximum number of subintervals (scipy's default 50). */
  limit?: number;
}

/** Integral of f over [a, b] by adaptive Gauss-Kronrod (21 points) bisection; returns value and error bound. */
export function integrate(
  f: (x: number) => number,
  a: number,
  b: number,
  options: QuadOptions = {},
): { value: number; error: number } {
  const epsabs = options.epsabs ?? 1.49e-8;
  const epsrel = options.epsrel ?? 1.49e-8;
  const limit = options.limit ?? 50;
  if (a === b) return { value: 0, error: 0 };
  const first = gk21(f, a, b);
  const pieces: Piece[] = [{ a, b, result: first.result, error: first.abserr }];
  let total = first.result;
  let totalErr = first.abserr;
  while (totalErr > Math.max(epsabs, epsrel * Math.abs(total)) && pieces.length < limit) {
    let worst = 0;
    for (let i = 1; i < pieces.length; i++) if (pieces[i]!.error > pieces[worst]!.error) worst = i;
    const p = pieces[worst]!;
    const mid = 0.5 * (p.a + p.b);
    const left = gk21(f, p.a, mid);
    const right = gk21(f, mid, p.b);
    pieces.splice(worst, 1, { a: p.a, b: mid, result: left.result, error: left.abserr }, {
      a: mid,
      b: p.b,
      result: right.result,
      error: right.abserr,
    });
    total = 0;
    totalErr = 0;
    for (const q of pieces) {
      total += q.result;
      totalErr += q.error;
    }
  }
  return { value: total, error: totalErr };
}
