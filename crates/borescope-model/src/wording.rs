//! Counted nouns and ordinals for messages, so a count of one reads "1 frame", not "1 frames",
//! and the third hit is "3rd", not "3th".

/// `n` followed by the singular or plural form of a noun: `counted(1, "frame", "frames")` is
/// `"1 frame"`, `counted(2, "frame", "frames")` is `"2 frames"`.
pub fn counted(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// `n` as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ...
pub fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pick_the_right_form() {
        assert_eq!(counted(0, "frame", "frames"), "0 frames");
        assert_eq!(counted(1, "frame", "frames"), "1 frame");
        assert_eq!(counted(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn ordinals_follow_english() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111].into_iter().map(ordinal).collect();
        assert_eq!(got, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"]);
    }
}
