//! The Kubernetes CEL libraries that bring their own value types, as the API server's
//! `k8s.io/apiserver/pkg/cel/library` defines them (the behaviour is theirs, the code is
//! kubegate's):
//!
//! - **quantity** (Kubernetes 1.28+): `quantity(string)`, `isQuantity(string)`, and on a
//!   quantity `sign()`, `isInteger()`, `asInteger()`, `asApproximateFloat()`, `add(q|int)`,
//!   `sub(q|int)`, `isLessThan(q)`, `isGreaterThan(q)`, `compareTo(q)`; `==` compares values
//!   (`quantity('1') == quantity('1000m')`). Values are exact to 10^-9, as the API server
//!   stores them (finer values round up, as it rounds them).
//! - **IP and CIDR** (Kubernetes 1.30+): `ip(string)`, `isIP(string)`, `ip.isCanonical(string)`,
//!   on an IP `family()`, `isUnspecified()`, `isLoopback()`, `isLinkLocalMulticast()`,
//!   `isLinkLocalUnicast()`, `isGlobalUnicast()`, `string(ip)`; `cidr(string)`,
//!   `isCIDR(string)`, on a CIDR `containsIP(ip|string)`, `containsCIDR(cidr|string)`, `ip()`,
//!   `masked()`, `prefixLength()`, `string(cidr)`. As in the API server, IPv4-mapped IPv6
//!   addresses and zones are refused, and IPv4 octets may not have leading zeros.
//! - **semver** (Kubernetes 1.31+): `semver(string[, normalize])`, `isSemver(string[,
//!   normalize])`, and on a version `major()`, `minor()`, `patch()`, `isLessThan(v)`,
//!   `isGreaterThan(v)`, `compareTo(v)`; strict Semantic Versioning 2.0 as the API server's
//!   `blang/semver` parses it, precedence ignoring build metadata; `normalize` drops a leading
//!   `v`, leading zeros and fills in a missing minor or patch as the API server does.

use std::any::Any;
use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelString, Kind, Type, BOOL_TYPE, INT_TYPE, STRING_TYPE,
};
use cel::common::value::{CowVal, StaticVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

use super::cel_k8s::{string_arg, take};
use crate::rules::api::quantity::{parse_str, Quantity as Exact};

static QUANTITY_TYPE: Type = quantity_type();
static IP_TYPE: Type = ip_type();
static CIDR_TYPE: Type = cidr_type();
static SEMVER_TYPE: Type = semver_type();

const fn semver_type() -> Type {
    Type::simple_type(Kind::Opaque, "kubernetes.Semver")
}

const fn quantity_type() -> Type {
    Type::simple_type(Kind::Opaque, "kubernetes.Quantity")
}

const fn ip_type() -> Type {
    Type::simple_type(Kind::Opaque, "net.IP")
}

const fn cidr_type() -> Type {
    Type::simple_type(Kind::Opaque, "net.CIDR")
}

const NANOS: i128 = 1_000_000_000;

/// A resource quantity as a CEL value.
#[derive(Debug, Clone, Copy)]
struct Quantity(Exact);

impl Val for Quantity {
    fn get_type(&self) -> &Type {
        &QUANTITY_TYPE
    }
    fn cel_type() -> &'static Type {
        &QUANTITY_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other
            .downcast_ref::<Quantity>()
            .is_some_and(|o| o.0 == self.0)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(*self)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for Quantity {}

/// An IP address as a CEL value.
#[derive(Debug, Clone, Copy)]
struct Ip(IpAddr);

impl Val for Ip {
    fn get_type(&self) -> &Type {
        &IP_TYPE
    }
    fn cel_type() -> &'static Type {
        &IP_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other.downcast_ref::<Ip>().is_some_and(|o| o.0 == self.0)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(*self)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for Ip {}

/// A CIDR (an address and a prefix length, not necessarily masked) as a CEL value.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Val for Cidr {
    fn get_type(&self) -> &Type {
        &CIDR_TYPE
    }
    fn cel_type() -> &'static Type {
        &CIDR_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other
            .downcast_ref::<Cidr>()
            .is_some_and(|o| o.addr == self.addr && o.bits == self.bits)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(*self)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for Cidr {}

type Result<'b, 'v> = std::result::Result<CowVal<'b, 'v>, ExecutionError>;

fn boolean<'b, 'v>(b: bool) -> Result<'b, 'v> {
    Ok(CowVal::owned(CelBool::from(b)))
}

fn int<'b, 'v>(i: i64) -> Result<'b, 'v> {
    Ok(CowVal::owned(CelInt::from(i)))
}

fn arg<'a, T: StaticVal>(
    val: &'a CowVal<'_, '_>,
    function: &str,
    want: &str,
) -> std::result::Result<&'a T, ExecutionError> {
    val.as_ref().downcast_ref::<T>().ok_or_else(|| {
        ExecutionError::function_error(
            function,
            format!("expected {want}, found {}", val.as_ref().get_type().name()),
        )
    })
}

/// Registers the quantity library on `env`.
pub(crate) fn quantity(env: &mut Env) -> std::result::Result<(), DeclarationError> {
    env.add_type(quantity_type())?;
    env.add_overload(
        "quantity",
        "string_to_quantity",
        vec![STRING_TYPE],
        to_quantity,
    )?;
    env.add_overload(
        "isQuantity",
        "is_quantity_string",
        vec![STRING_TYPE],
        is_quantity,
    )?;
    let q = quantity_type;
    env.add_member_overload("sign", "quantity_sign", q(), vec![], q_sign)?;
    env.add_member_overload(
        "isInteger",
        "quantity_is_integer",
        q(),
        vec![],
        q_is_integer,
    )?;
    env.add_member_overload(
        "asInteger",
        "quantity_as_integer",
        q(),
        vec![],
        q_as_integer,
    )?;
    env.add_member_overload(
        "asApproximateFloat",
        "quantity_as_float",
        q(),
        vec![],
        q_as_float,
    )?;
    env.add_member_overload("add", "quantity_add", q(), vec![q()], q_add)?;
    env.add_member_overload("add", "quantity_add_int", q(), vec![INT_TYPE], q_add)?;
    env.add_member_overload("sub", "quantity_sub", q(), vec![q()], q_sub)?;
    env.add_member_overload("sub", "quantity_sub_int", q(), vec![INT_TYPE], q_sub)?;
    env.add_member_overload("isLessThan", "quantity_less_than", q(), vec![q()], q_less)?;
    env.add_member_overload(
        "isGreaterThan",
        "quantity_greater_than",
        q(),
        vec![q()],
        q_greater,
    )?;
    env.add_member_overload(
        "compareTo",
        "quantity_compare_to",
        q(),
        vec![q()],
        q_compare,
    )?;
    Ok(())
}

fn to_quantity<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    let text = string_arg(s.as_ref(), "quantity")?;
    match parse_str(text) {
        Some(q) => Ok(CowVal::owned(Quantity(q))),
        None => Err(ExecutionError::function_error(
            "quantity",
            format!("{text:?} is not a valid quantity"),
        )),
    }
}

fn is_quantity<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    boolean(parse_str(string_arg(s.as_ref(), "isQuantity")?).is_some())
}

fn nanos(val: &CowVal<'_, '_>, function: &str) -> std::result::Result<i128, ExecutionError> {
    Ok(arg::<Quantity>(val, function, "a quantity")?.0.nanos())
}

fn q_sign<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [q] = take(args)?;
    int(match nanos(&q, "sign")?.cmp(&0) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

fn q_is_integer<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [q] = take(args)?;
    let n = nanos(&q, "isInteger")?;
    boolean(n % NANOS == 0 && i64::try_from(n / NANOS).is_ok())
}

fn q_as_integer<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [q] = take(args)?;
    let n = nanos(&q, "asInteger")?;
    match (n % NANOS == 0)
        .then(|| i64::try_from(n / NANOS).ok())
        .flatten()
    {
        Some(i) => int(i),
        None => Err(ExecutionError::function_error(
            "asInteger",
            "cannot convert value to integer",
        )),
    }
}

fn q_as_float<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [q] = take(args)?;
    let n = nanos(&q, "asApproximateFloat")?;
    // Whole and fractional parts apart, so large values keep their precision.
    let whole = (n / NANOS) as f64;
    let fraction = (n % NANOS) as f64 / 1e9;
    Ok(CowVal::owned(CelDouble::from(whole + fraction)))
}

/// The other operand of `add`/`sub`: a quantity, or an int (whole units).
fn operand(val: &CowVal<'_, '_>, function: &str) -> std::result::Result<i128, ExecutionError> {
    if let Some(i) = val.as_ref().downcast_ref::<CelInt>() {
        return Ok(i128::from(*i.inner()).saturating_mul(NANOS));
    }
    nanos(val, function)
}

fn q_add<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [q, other] = take(args)?;
    let sum = nanos(&q, "add")?.saturating_add(operand(&other, "add")?);
    Ok(CowVal::owned(Quantity(Exact::from_nanos(sum))))
}

fn q_sub<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [q, other] = take(args)?;
    let diff = nanos(&q, "sub")?.saturating_sub(operand(&other, "sub")?);
    Ok(CowVal::owned(Quantity(Exact::from_nanos(diff))))
}

fn q_cmp(
    args: Vec<CowVal<'_, '_>>,
    function: &str,
) -> std::result::Result<Ordering, ExecutionError> {
    let [a, b] = take(args)?;
    Ok(nanos(&a, function)?.cmp(&nanos(&b, function)?))
}

fn q_less<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    boolean(q_cmp(args, "isLessThan")? == Ordering::Less)
}

fn q_greater<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    boolean(q_cmp(args, "isGreaterThan")? == Ordering::Greater)
}

fn q_compare<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    int(match q_cmp(args, "compareTo")? {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

/// Parses an address as the API server's IP library does (Go's `netip.ParseAddr`, then no
/// zone and no IPv4-mapped IPv6 address).
fn parse_ip(text: &str) -> std::result::Result<IpAddr, String> {
    let addr: IpAddr = text
        .parse()
        .map_err(|_| format!("IP Address {text:?} parse error during conversion from string"))?;
    if let IpAddr::V6(v6) = addr {
        if v6.to_ipv4_mapped().is_some() {
            return Err(format!("IPv4-mapped IPv6 address {text:?} is not allowed"));
        }
    }
    Ok(addr)
}

/// Parses a CIDR as the API server's CIDR library does (`netip.ParsePrefix`, the same address
/// rules as [`parse_ip`], a decimal prefix length without leading zeros).
fn parse_cidr(text: &str) -> std::result::Result<Cidr, String> {
    let bad = || format!("network address {text:?} parse error during conversion from string");
    let (addr, bits) = text.split_once('/').ok_or_else(bad)?;
    let addr = parse_ip(addr).map_err(|_| bad())?;
    if bits.is_empty()
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return Err(bad());
    }
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(bad());
    }
    Ok(Cidr { addr, bits })
}

/// Registers the IP and CIDR libraries on `env`.
pub(crate) fn net(env: &mut Env) -> std::result::Result<(), DeclarationError> {
    env.add_type(ip_type())?;
    env.add_type(cidr_type())?;
    let ip = ip_type;
    let cidr = cidr_type;
    env.add_overload("ip", "string_to_ip", vec![STRING_TYPE], to_ip)?;
    env.add_overload("isIP", "is_ip", vec![STRING_TYPE], is_ip)?;
    env.add_overload(
        "ip.isCanonical",
        "ip_is_canonical",
        vec![STRING_TYPE],
        ip_is_canonical,
    )?;
    env.add_overload("string", "ip_to_string", vec![ip()], ip_to_string)?;
    env.add_member_overload("family", "ip_family", ip(), vec![], ip_family)?;
    env.add_member_overload(
        "isUnspecified",
        "ip_is_unspecified",
        ip(),
        vec![],
        ip_unspecified,
    )?;
    env.add_member_overload("isLoopback", "ip_is_loopback", ip(), vec![], ip_loopback)?;
    env.add_member_overload(
        "isLinkLocalMulticast",
        "ip_is_link_local_multicast",
        ip(),
        vec![],
        ip_link_local_multicast,
    )?;
    env.add_member_overload(
        "isLinkLocalUnicast",
        "ip_is_link_local_unicast",
        ip(),
        vec![],
        ip_link_local_unicast,
    )?;
    env.add_member_overload(
        "isGlobalUnicast",
        "ip_is_global_unicast",
        ip(),
        vec![],
        ip_global_unicast,
    )?;
    env.add_overload("cidr", "string_to_cidr", vec![STRING_TYPE], to_cidr)?;
    env.add_overload("isCIDR", "is_cidr", vec![STRING_TYPE], is_cidr)?;
    env.add_overload("string", "cidr_to_string", vec![cidr()], cidr_to_string)?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip_ip",
        cidr(),
        vec![ip()],
        contains_ip,
    )?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip_string",
        cidr(),
        vec![STRING_TYPE],
        contains_ip,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr",
        cidr(),
        vec![cidr()],
        contains_cidr,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr_string",
        cidr(),
        vec![STRING_TYPE],
        contains_cidr,
    )?;
    env.add_member_overload("ip", "cidr_ip", cidr(), vec![], cidr_ip)?;
    env.add_member_overload("masked", "cidr_masked", cidr(), vec![], cidr_masked)?;
    env.add_member_overload(
        "prefixLength",
        "cidr_prefix_length",
        cidr(),
        vec![],
        cidr_prefix,
    )?;
    Ok(())
}

fn to_ip<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    parse_ip(string_arg(s.as_ref(), "ip")?)
        .map(|a| CowVal::owned(Ip(a)))
        .map_err(|e| ExecutionError::function_error("ip", e))
}

fn is_ip<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    boolean(parse_ip(string_arg(s.as_ref(), "isIP")?).is_ok())
}

fn ip_is_canonical<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    let text = string_arg(s.as_ref(), "ip.isCanonical")?;
    let addr = parse_ip(text).map_err(|e| ExecutionError::function_error("ip.isCanonical", e))?;
    boolean(addr.to_string() == text)
}

fn ip_of(val: &CowVal<'_, '_>, function: &str) -> std::result::Result<IpAddr, ExecutionError> {
    Ok(arg::<Ip>(val, function, "an IP")?.0)
}

fn ip_to_string<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    Ok(CowVal::owned(CelString::from(
        ip_of(&ip, "string")?.to_string(),
    )))
}

fn ip_family<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    int(if ip_of(&ip, "family")?.is_ipv4() {
        4
    } else {
        6
    })
}

fn ip_unspecified<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    boolean(ip_of(&ip, "isUnspecified")?.is_unspecified())
}

fn ip_loopback<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    boolean(ip_of(&ip, "isLoopback")?.is_loopback())
}

fn link_local_multicast(addr: IpAddr) -> bool {
    match addr {
        // 224.0.0.0/24
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        // ff02::/16 (and the other link-local scope flags, as Go: ffx2::)
        IpAddr::V6(v6) => v6.octets()[0] == 0xff && v6.octets()[1] & 0x0f == 0x02,
    }
}

fn link_local_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.octets()[..2] == [169, 254],
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

fn ip_link_local_multicast<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    boolean(link_local_multicast(ip_of(&ip, "isLinkLocalMulticast")?))
}

fn ip_link_local_unicast<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    boolean(link_local_unicast(ip_of(&ip, "isLinkLocalUnicast")?))
}

/// Go's `IsGlobalUnicast`: not unspecified, loopback, multicast, link-local unicast or the
/// IPv4 broadcast address (private ranges count as global unicast).
fn ip_global_unicast<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [ip] = take(args)?;
    let addr = ip_of(&ip, "isGlobalUnicast")?;
    boolean(
        !(addr.is_unspecified()
            || addr.is_loopback()
            || addr.is_multicast()
            || link_local_unicast(addr)
            || addr == IpAddr::V4(Ipv4Addr::BROADCAST)),
    )
}

fn to_cidr<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    parse_cidr(string_arg(s.as_ref(), "cidr")?)
        .map(CowVal::owned)
        .map_err(|e| ExecutionError::function_error("cidr", e))
}

fn is_cidr<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [s] = take(args)?;
    boolean(parse_cidr(string_arg(s.as_ref(), "isCIDR")?).is_ok())
}

fn cidr_of(val: &CowVal<'_, '_>, function: &str) -> std::result::Result<Cidr, ExecutionError> {
    Ok(*arg::<Cidr>(val, function, "a CIDR")?)
}

fn cidr_to_string<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [c] = take(args)?;
    let c = cidr_of(&c, "string")?;
    Ok(CowVal::owned(CelString::from(format!(
        "{}/{}",
        c.addr, c.bits
    ))))
}

/// The address with the bits past the prefix cleared.
fn mask(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & keep))
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & keep))
        }
    }
}

fn contains(c: Cidr, addr: IpAddr) -> bool {
    c.addr.is_ipv4() == addr.is_ipv4() && mask(addr, c.bits) == mask(c.addr, c.bits)
}

fn ip_or_string(
    val: &CowVal<'_, '_>,
    function: &str,
) -> std::result::Result<IpAddr, ExecutionError> {
    if let Ok(text) = <&str>::try_from(val.as_ref()) {
        return parse_ip(text).map_err(|e| ExecutionError::function_error(function, e));
    }
    ip_of(val, function)
}

fn contains_ip<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [c, ip] = take(args)?;
    let c = cidr_of(&c, "containsIP")?;
    boolean(contains(c, ip_or_string(&ip, "containsIP")?))
}

fn contains_cidr<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [c, other] = take(args)?;
    let c = cidr_of(&c, "containsCIDR")?;
    let other = match <&str>::try_from(other.as_ref()) {
        Ok(text) => {
            parse_cidr(text).map_err(|e| ExecutionError::function_error("containsCIDR", e))?
        }
        Err(_) => cidr_of(&other, "containsCIDR")?,
    };
    boolean(c.bits <= other.bits && contains(c, other.addr))
}

fn cidr_ip<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [c] = take(args)?;
    Ok(CowVal::owned(Ip(cidr_of(&c, "ip")?.addr)))
}

fn cidr_masked<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [c] = take(args)?;
    let c = cidr_of(&c, "masked")?;
    Ok(CowVal::owned(Cidr {
        addr: mask(c.addr, c.bits),
        bits: c.bits,
    }))
}

fn cidr_prefix<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [c] = take(args)?;
    int(i64::from(cidr_of(&c, "prefixLength")?.bits))
}

/// One identifier of a pre-release: numeric identifiers compare by value and sort first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pre {
    Num(u64),
    Alpha(String),
}

/// A semantic version as a CEL value.
#[derive(Debug, Clone)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Pre>,
}

impl Semver {
    /// Semantic Versioning 2.0 precedence (build metadata ignored), as `blang/semver` compares.
    fn precedence(&self, other: &Semver) -> Ordering {
        let core =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if core != Ordering::Equal {
            return core;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        for (a, b) in self.pre.iter().zip(&other.pre) {
            let o = match (a, b) {
                (Pre::Num(x), Pre::Num(y)) => x.cmp(y),
                (Pre::Num(_), Pre::Alpha(_)) => Ordering::Less,
                (Pre::Alpha(_), Pre::Num(_)) => Ordering::Greater,
                (Pre::Alpha(x), Pre::Alpha(y)) => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        self.pre.len().cmp(&other.pre.len())
    }
}

impl Val for Semver {
    fn get_type(&self) -> &Type {
        &SEMVER_TYPE
    }
    fn cel_type() -> &'static Type {
        &SEMVER_TYPE
    }
    fn equals(&self, other: &dyn Val) -> bool {
        other
            .downcast_ref::<Semver>()
            .is_some_and(|o| o.precedence(self) == Ordering::Equal)
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
impl StaticVal for Semver {}

/// A version number: digits only, no leading zeros, fits 64 bits.
fn version_number(part: &str, what: &str) -> std::result::Result<u64, String> {
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Invalid character(s) found in {what} number {part:?}"
        ));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!(
            "{what} number must not contain leading zeroes {part:?}"
        ));
    }
    part.parse()
        .map_err(|_| format!("{what} number {part:?} is not a 64-bit number"))
}

fn alphanumeric(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Parses a version strictly, as `blang/semver`'s `Parse`.
fn parse_semver(text: &str) -> std::result::Result<Semver, String> {
    if text.is_empty() {
        return Err("Version string empty".into());
    }
    let parts: Vec<&str> = text.splitn(3, '.').collect();
    let [major, minor, rest] = parts.as_slice() else {
        return Err("No Major.Minor.Patch elements found".into());
    };
    let mut patch = *rest;
    let mut build: Option<&str> = None;
    if let Some((p, b)) = patch.split_once('+') {
        patch = p;
        build = Some(b);
    }
    let mut pre_text: Option<&str> = None;
    if let Some((p, pre)) = patch.split_once('-') {
        patch = p;
        pre_text = Some(pre);
    }
    let mut pre = Vec::new();
    for id in pre_text
        .map(|p| p.split('.').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if id.is_empty() {
            return Err("Prerelease is empty".into());
        }
        if id.bytes().all(|b| b.is_ascii_digit()) {
            if id.len() > 1 && id.starts_with('0') {
                return Err(format!(
                    "Version prerelease must not contain leading zeroes {id:?}"
                ));
            }
            pre.push(Pre::Num(
                id.parse()
                    .map_err(|_| format!("prerelease {id:?} is too large"))?,
            ));
        } else if alphanumeric(id) {
            pre.push(Pre::Alpha(id.to_owned()));
        } else {
            return Err(format!("Invalid character(s) found in prerelease {id:?}"));
        }
    }
    for id in build
        .map(|b| b.split('.').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if id.is_empty() {
            return Err("Build meta data is empty".into());
        }
        if !alphanumeric(id) {
            return Err(format!(
                "Invalid character(s) found in build meta data {id:?}"
            ));
        }
    }
    Ok(Semver {
        major: version_number(major, "Major")?,
        minor: version_number(minor, "Minor")?,
        patch: version_number(patch, "Patch")?,
        pre,
    })
}

/// The API server's normalization before parsing: one leading `v` dropped, leading zeros of
/// each part dropped, a missing minor or patch filled with `0`.
fn normalize_semver(text: &str) -> std::result::Result<Semver, String> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let mut parts: Vec<String> = text.splitn(3, '.').map(str::to_owned).collect();
    for p in &mut parts {
        if p.len() > 1 {
            let trimmed = p.trim_start_matches('0');
            *p = if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
                trimmed.to_owned()
            } else {
                format!("0{trimmed}")
            };
        }
    }
    if parts.len() < 3 {
        if parts.last().is_some_and(|p| p.contains(['+', '-'])) {
            return Err("short version cannot contain PreRelease/Build meta data".into());
        }
        while parts.len() < 3 {
            parts.push("0".into());
        }
    }
    parse_semver(&parts.join("."))
}

/// Registers the semver library on `env`.
pub(crate) fn semver(env: &mut Env) -> std::result::Result<(), DeclarationError> {
    env.add_type(semver_type())?;
    let v = semver_type;
    env.add_overload("semver", "string_to_semver", vec![STRING_TYPE], to_semver)?;
    env.add_overload(
        "semver",
        "string_bool_to_semver",
        vec![STRING_TYPE, BOOL_TYPE],
        to_semver,
    )?;
    env.add_overload("isSemver", "is_semver_string", vec![STRING_TYPE], is_semver)?;
    env.add_overload(
        "isSemver",
        "is_semver_string_bool",
        vec![STRING_TYPE, BOOL_TYPE],
        is_semver,
    )?;
    env.add_member_overload("major", "semver_major", v(), vec![], semver_major)?;
    env.add_member_overload("minor", "semver_minor", v(), vec![], semver_minor)?;
    env.add_member_overload("patch", "semver_patch", v(), vec![], semver_patch)?;
    env.add_member_overload(
        "isGreaterThan",
        "semver_is_greater_than",
        v(),
        vec![v()],
        semver_greater,
    )?;
    env.add_member_overload(
        "isLessThan",
        "semver_is_less_than",
        v(),
        vec![v()],
        semver_less,
    )?;
    env.add_member_overload(
        "compareTo",
        "semver_compare_to",
        v(),
        vec![v()],
        semver_compare,
    )?;
    Ok(())
}

/// `semver(s)` or `semver(s, normalize)` parsed, by the form the call asks for.
fn parse_semver_args(
    args: Vec<CowVal<'_, '_>>,
    function: &str,
) -> std::result::Result<std::result::Result<Semver, String>, ExecutionError> {
    let mut args = args.into_iter();
    let Some(text) = args.next() else {
        return Err(ExecutionError::invalid_argument_count(1, 0));
    };
    let text = string_arg(text.as_ref(), function)?;
    let normalize = match args.next() {
        None => false,
        Some(b) => *b
            .as_ref()
            .downcast_ref::<CelBool>()
            .ok_or_else(|| ExecutionError::function_error(function, "normalize must be a bool"))?
            .inner(),
    };
    Ok(if normalize {
        normalize_semver(text)
    } else {
        parse_semver(text)
    })
}

fn to_semver<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    parse_semver_args(args, "semver")?
        .map(CowVal::owned)
        .map_err(|e| ExecutionError::function_error("semver", e))
}

fn is_semver<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    boolean(parse_semver_args(args, "isSemver")?.is_ok())
}

fn semver_of<'a>(
    val: &'a CowVal<'_, '_>,
    function: &str,
) -> std::result::Result<&'a Semver, ExecutionError> {
    arg::<Semver>(val, function, "a semver")
}

fn semver_major<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [v] = take(args)?;
    int(semver_of(&v, "major")?.major as i64)
}

fn semver_minor<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [v] = take(args)?;
    int(semver_of(&v, "minor")?.minor as i64)
}

fn semver_patch<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    let [v] = take(args)?;
    int(semver_of(&v, "patch")?.patch as i64)
}

fn semver_cmp(
    args: Vec<CowVal<'_, '_>>,
    function: &str,
) -> std::result::Result<Ordering, ExecutionError> {
    let [a, b] = take(args)?;
    Ok(semver_of(&a, function)?.precedence(semver_of(&b, function)?))
}

fn semver_greater<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    boolean(semver_cmp(args, "isGreaterThan")? == Ordering::Greater)
}

fn semver_less<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    boolean(semver_cmp(args, "isLessThan")? == Ordering::Less)
}

fn semver_compare<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    int(match semver_cmp(args, "compareTo")? {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

#[cfg(test)]
mod tests {
    use crate::policy::cel::{compile, Activation, Scope, Values};

    /// Evaluates `source` with `object` bound; errors as their message.
    fn eval(source: &str) -> Result<cel::Value, String> {
        let object = serde_json::json!({"limits": {"memory": "1Gi", "cpu": "500m"},
            "addresses": ["10.0.0.1", "fe80::1"]});
        let scope = Scope {
            names: &["object"],
            variables: &[],
            provided: &[],
        };
        let expression = compile(source, &scope, &["object"]).map_err(|e| e.to_string())?;
        let values = Values::new(&[("object", &object)]);
        let activation = Activation::new(&values, None, &[], &[]);
        let result = activation.eval(&expression);
        drop(activation);
        result
    }

    fn truth(source: &str) -> bool {
        match eval(source) {
            Ok(cel::Value::Bool(b)) => b,
            other => panic!("{source}: {other:?}"),
        }
    }

    #[test]
    fn quantities_compare_by_value_and_convert_as_the_api_server_does() {
        for yes in [
            "quantity(object.limits.memory).isGreaterThan(quantity('1000Mi'))",
            "quantity(object.limits.cpu).isLessThan(quantity('1'))",
            "quantity('1') == quantity('1000m')",
            "quantity('1Gi').compareTo(quantity('1024Mi')) == 0",
            "quantity('500m').add(quantity('500m')) == quantity('1')",
            "quantity('2').sub(1) == quantity('1')",
            "quantity('2').add(3).asInteger() == 5",
            "quantity('1.5').asApproximateFloat() == 1.5",
            "quantity('-3').sign() == -1 && quantity('0').sign() == 0",
            "quantity('1k').isInteger() && !quantity('500m').isInteger()",
            "isQuantity('1.5Gi') && !isQuantity('1.5GB') && !isQuantity('')",
        ] {
            assert!(truth(yes), "{yes}");
        }
        assert!(eval("quantity('500m').asInteger()")
            .expect_err("not an integer")
            .contains("cannot convert value to integer"));
        assert!(eval("quantity('12 apples')")
            .expect_err("invalid")
            .contains("not a valid quantity"));
    }

    #[test]
    fn ips_and_cidrs_follow_the_api_servers_library() {
        for yes in [
            "isIP('10.0.0.1') && isIP('2001:db8::1')",
            "!isIP('10.0.0.01') && !isIP('::ffff:10.0.0.1') && !isIP('fe80::1%eth0') && !isIP('example.com')",
            "ip('10.0.0.1').family() == 4 && ip('::1').family() == 6",
            "ip('127.0.0.1').isLoopback() && ip('::1').isLoopback()",
            "ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()",
            "ip('169.254.1.1').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast()",
            "ip('224.0.0.5').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()",
            "ip('10.1.2.3').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()",
            "ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1') && !ip.isCanonical('2001:db8:0::1')",
            "string(ip('2001:db8:0:0::1')) == '2001:db8::1'",
            "ip('10.0.0.1') == ip('10.0.0.1') && ip('10.0.0.1') != ip('10.0.0.2')",
            "cidr('10.0.0.0/8').containsIP('10.2.3.4') && !cidr('10.0.0.0/8').containsIP(ip('11.0.0.1'))",
            "!cidr('10.0.0.0/8').containsIP('::1')",
            "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')",
            "cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8') && cidr('10.1.2.3/8').ip() == ip('10.1.2.3')",
            "cidr('2001:db8::/32').prefixLength() == 32 && string(cidr('10.1.2.3/8').masked()) == '10.0.0.0/8'",
            "isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0/08') && !isCIDR('10.0.0.0')",
            "object.addresses.all(a, isIP(a)) && object.addresses.exists(a, ip(a).family() == 6)",
        ] {
            assert!(truth(yes), "{yes}");
        }
        assert!(eval("ip('nope')")
            .expect_err("invalid")
            .contains("parse error"));
    }

    #[test]
    fn semantic_versions_parse_and_compare_as_the_api_server_does() {
        for yes in [
            "isSemver('1.4.2') && isSemver('0.1.0-alpha.1+build.7') && !isSemver('v1.2.3')",
            "!isSemver('1.2') && !isSemver('01.2.3') && !isSemver('1.2.3-') && !isSemver('1.2.3-01')",
            "!isSemver('1.2.3+') && !isSemver('1.2.3-a_b') && !isSemver('') && !isSemver('200K')",
            "isSemver('v1.2', true) && isSemver('01.01.01', true) && !isSemver('1.2-rc.1', true)",
            "semver('v1.2', true) == semver('1.2.0') && semver('01.01.01', true) == semver('1.1.1')",
            "semver('1.2.3').major() == 1 && semver('1.2.3').minor() == 2 && semver('1.2.3').patch() == 3",
            "semver('1.4.2').isGreaterThan(semver('1.4.0')) && semver('1.10.0').isGreaterThan(semver('1.9.9'))",
            "semver('1.0.0-alpha').isLessThan(semver('1.0.0')) && semver('1.0.0-alpha').isLessThan(semver('1.0.0-alpha.1'))",
            "semver('1.0.0-alpha.1').isLessThan(semver('1.0.0-alpha.beta')) && semver('1.0.0-beta.2').isLessThan(semver('1.0.0-beta.11'))",
            "semver('1.0.0-rc.1').isLessThan(semver('1.0.0')) && semver('1.0.0+a').compareTo(semver('1.0.0+b')) == 0",
            "semver('2.0.0').compareTo(semver('1.9.9')) == 1 && semver('1.2.3') == semver('1.2.3+meta')",
        ] {
            assert!(truth(yes), "{yes}");
        }
        assert!(eval("semver('Three')")
            .expect_err("invalid")
            .contains("No Major.Minor.Patch"));
    }

    #[test]
    fn sets_compare_lists_as_sets() {
        for yes in [
            "sets.contains([1, 2, 3], [3, 1]) && sets.contains([1], [])",
            "!sets.contains([1, 2], [4])",
            "sets.equivalent(['a', 'b', 'b'], ['b', 'a']) && !sets.equivalent([1], [1, 2])",
            "sets.intersects(object.addresses, ['fe80::1']) && !sets.intersects([1], [2])",
        ] {
            assert!(truth(yes), "{yes}");
        }
    }
}
