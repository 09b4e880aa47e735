//! The Kubernetes CEL libraries kubegate implements on top of the `cel` crate, as the API
//! server's `k8s.io/apiserver/pkg/cel/library` defines them.
//!
//! The lists library (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`) and the regex
//! library (`find`, `findAll`), available to ValidatingAdmissionPolicies and CRD validation
//! rules (Kubernetes 1.24+).

use std::cmp::Ordering;

use cel::common::types::{
    CelBool, CelInt, CelList, CelMap, CelString, DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE,
};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

/// Registers the lists library on `env`.
pub(crate) fn lists(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload("isSorted", "list.isSorted()", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("sum", "list.sum()", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "list.min()", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "list.max()", LIST_TYPE, vec![], max)?;
    env.add_member_overload(
        "indexOf",
        "list.indexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list.lastIndexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    Ok(())
}

/// Registers the CEL sets extension on `env` (`sets.contains`, `sets.equivalent`,
/// `sets.intersects`), which the API server enables for Kubernetes 1.30+: lists as sets,
/// elements compared with CEL equality.
pub(crate) fn sets(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_intersects,
    )?;
    Ok(())
}

/// Whether every element of `b` is in `a`.
fn includes(a: &[&dyn Val], b: &[&dyn Val]) -> bool {
    b.iter().all(|x| a.iter().any(|y| y.equals(*x)))
}

/// `sets.contains(a, b)`: every element of `b` is in `a` (true for an empty `b`).
fn sets_contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = take(args)?;
    let (a, b) = (elements(a.as_ref())?, elements(b.as_ref())?);
    Ok(CowVal::owned(CelBool::from(includes(&a, &b))))
}

/// `sets.equivalent(a, b)`: each contains the other (duplicates and order do not matter).
fn sets_equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = take(args)?;
    let (a, b) = (elements(a.as_ref())?, elements(b.as_ref())?);
    Ok(CowVal::owned(CelBool::from(
        includes(&a, &b) && includes(&b, &a),
    )))
}

/// `sets.intersects(a, b)`: they have an element in common.
fn sets_intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = take(args)?;
    let (a, b) = (elements(a.as_ref())?, elements(b.as_ref())?);
    Ok(CowVal::owned(CelBool::from(
        a.iter().any(|x| b.iter().any(|y| y.equals(*x))),
    )))
}

/// The function two-variable comprehensions iterate over ([`entries`]). `@` cannot start a
/// name in CEL source, so no expression can call it itself.
pub(crate) const ENTRIES: &str = "@kubegate_entries";

/// Registers [`ENTRIES`] on `env`.
pub(crate) fn comprehensions(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(ENTRIES, "kubegate_entries_dyn", vec![DYN_TYPE], entries)
}

/// A map's `[key, value]` pairs, or a list's `[index, element]` pairs: what a two-variable
/// comprehension (`m.all(k, v, p)`, `l.exists(i, v, p)`) binds its variables to.
fn entries<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [range] = take(args)?;
    let range = range.as_ref();
    let pair = |a: Box<dyn Val + 'v>, b: Box<dyn Val + 'v>| -> Box<dyn Val + 'v> {
        Box::new(CelList::from(vec![a, b]))
    };
    if let Some(map) = range.downcast_ref::<CelMap>() {
        let pairs: Vec<Box<dyn Val + 'v>> = map
            .inner()
            .iter()
            .map(|(k, v)| pair(k.inner().clone_as_boxed(), v.clone_as_boxed()))
            .collect();
        return Ok(CowVal::owned(CelList::from(pairs)));
    }
    if range.get_type().name() == "list" {
        let pairs: Vec<Box<dyn Val + 'v>> = elements(range)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let index = i64::try_from(i).unwrap_or(i64::MAX);
                pair(Box::new(CelInt::from(index)), v.clone_as_boxed())
            })
            .collect();
        return Ok(CowVal::owned(CelList::from(pairs)));
    }
    Err(ExecutionError::function_error(
        "comprehension",
        format!(
            "a two-variable comprehension needs a list or a map, found {}",
            range.get_type().name()
        ),
    ))
}

/// Registers the regex library on `env`.
pub(crate) fn regex(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload(
        "find",
        "string.find(string)",
        STRING_TYPE,
        vec![STRING_TYPE],
        find,
    )?;
    env.add_member_overload(
        "findAll",
        "string.findAll(string)",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "string.findAll(string,int)",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all,
    )?;
    Ok(())
}

/// The most a pattern may compile to: the API server's expressions are bounded by their cost,
/// kubegate's by this and the evaluation time limit.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) fn string_arg<'b>(
    val: &'b (dyn Val + '_),
    function: &str,
) -> Result<&'b str, ExecutionError> {
    <&str>::try_from(val).map_err(|_| {
        ExecutionError::function_error(
            function,
            format!("expected a string, found {}", val.get_type().name()),
        )
    })
}

fn pattern(text: &str, function: &str) -> Result<regex::Regex, ExecutionError> {
    regex::RegexBuilder::new(text)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| ExecutionError::function_error(function, format!("invalid regex: {e}")))
}

/// The first match of the pattern, or the empty string.
fn find<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [text, re] = take(args)?;
    let re = pattern(string_arg(re.as_ref(), "find")?, "find")?;
    let found = re
        .find(string_arg(text.as_ref(), "find")?)
        .map_or(String::new(), |m| m.as_str().to_owned());
    Ok(CowVal::owned(CelString::from(found)))
}

/// Every match of the pattern, at most `limit` of them when a limit is given (a negative limit
/// is no limit, `0` none, as in Go's `FindAllString`).
fn find_all<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let mut args = args.into_iter();
    let (Some(text), Some(re)) = (args.next(), args.next()) else {
        return Err(ExecutionError::invalid_argument_count(2, 0));
    };
    let limit = match args.next() {
        Some(l) => match l.as_ref().downcast_ref::<CelInt>() {
            Some(n) => *n.inner(),
            None => {
                return Err(ExecutionError::function_error(
                    "findAll",
                    "limit must be an int",
                ))
            }
        },
        None => -1,
    };
    let re = pattern(string_arg(re.as_ref(), "findAll")?, "findAll")?;
    let text = string_arg(text.as_ref(), "findAll")?;
    let take_n = usize::try_from(limit).unwrap_or(usize::MAX);
    let found: Vec<Box<dyn Val + 'v>> = re
        .find_iter(text)
        .take(take_n)
        .map(|m| Box::new(CelString::from(m.as_str().to_owned())) as Box<dyn Val + 'v>)
        .collect();
    Ok(CowVal::owned(CelList::from(found)))
}

pub(super) fn take<'b, 'v, const N: usize>(
    args: Vec<CowVal<'b, 'v>>,
) -> Result<[CowVal<'b, 'v>; N], ExecutionError> {
    args.try_into()
        .map_err(|args: Vec<_>| ExecutionError::invalid_argument_count(N, args.len()))
}

/// The elements of a list value, borrowed from it.
pub(super) fn elements<'b, 'v>(
    list: &'b (dyn Val + 'v),
) -> Result<Vec<&'b (dyn Val + 'v)>, ExecutionError> {
    let iterable = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: list.get_type().name().to_owned(),
            want: "list".to_owned(),
        })?;
    let mut items = iterable.iter();
    let mut out = Vec::new();
    while let Some(item) = items.next() {
        out.push(item);
    }
    Ok(out)
}

fn compare(a: &dyn Val, b: &dyn Val, function: &str) -> Result<Ordering, ExecutionError> {
    if a.get_type().name() != b.get_type().name() {
        return Err(ExecutionError::function_error(
            function,
            format!(
                "list elements must be of one type, found {} and {}",
                a.get_type().name(),
                b.get_type().name()
            ),
        ));
    }
    a.as_comparer()
        .ok_or_else(|| {
            ExecutionError::function_error(
                function,
                format!("{} elements are not comparable", a.get_type().name()),
            )
        })?
        .compare(b)
}

/// Whether the elements are in ascending order (equal neighbours allowed).
fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list] = take(args)?;
    let items = elements(list.as_ref())?;
    for pair in items.windows(2) {
        if compare(pair[0], pair[1], "isSorted")? == Ordering::Greater {
            return Ok(CowVal::owned(CelBool::from(false)));
        }
    }
    Ok(CowVal::owned(CelBool::from(true)))
}

/// The sum of int, uint or double elements; `0` for an empty list.
fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list] = take(args)?;
    let items = elements(list.as_ref())?;
    let Some((first, rest)) = items.split_first() else {
        return Ok(CowVal::owned(CelInt::from(0)));
    };
    let kind = first.get_type().name();
    if !matches!(kind, "int" | "uint" | "double") {
        return Err(ExecutionError::function_error(
            "sum",
            format!("{kind} elements cannot be summed"),
        ));
    }
    let mut total: Box<dyn Val + 'v> = first.clone_as_boxed();
    for item in rest {
        if item.get_type().name() != kind {
            return Err(ExecutionError::function_error(
                "sum",
                format!(
                    "list elements must be of one type, found {kind} and {}",
                    item.get_type().name()
                ),
            ));
        }
        let adder = total
            .as_adder()
            .ok_or_else(|| ExecutionError::function_error("sum", "elements cannot be added"))?;
        let next = adder.add(*item)?.into_owned();
        total = next;
    }
    Ok(CowVal::Owned(total))
}

fn extreme<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    function: &str,
    keep: Ordering,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list] = take(args)?;
    let items = elements(list.as_ref())?;
    let Some((first, rest)) = items.split_first() else {
        return Err(ExecutionError::function_error(
            function,
            format!("{function} called on empty list"),
        ));
    };
    let mut best = *first;
    for item in rest {
        if compare(*item, best, function)? == keep {
            best = *item;
        }
    }
    Ok(CowVal::Owned(best.clone_as_boxed()))
}

/// The least element; an error for an empty list.
fn min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme(args, "min", Ordering::Less)
}

/// The greatest element; an error for an empty list.
fn max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme(args, "max", Ordering::Greater)
}

fn position<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    last: bool,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, wanted] = take(args)?;
    let items = elements(list.as_ref())?;
    let found = if last {
        items.iter().rposition(|i| i.equals(wanted.as_ref()))
    } else {
        items.iter().position(|i| i.equals(wanted.as_ref()))
    };
    let index = found.map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX));
    Ok(CowVal::owned(CelInt::from(index)))
}

/// The index of the first element equal to the argument, or -1.
fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    position(args, false)
}

/// The index of the last element equal to the argument, or -1.
fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    position(args, true)
}
