//! Bordered text tables in prettytable's layout, because operators' scripts
//! and runbooks read `placement-manage` and `placement-status` output.

/// A table with a header row; every cell is left-aligned when `left` is set,
/// centred otherwise (prettytable's default), and rows may be separated by
/// rules (`hrules=ALL`).
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    left: bool,
    rule_every_row: bool,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            left: false,
            rule_every_row: false,
        }
    }

    /// Left-align every cell.
    #[must_use]
    pub fn left_aligned(mut self) -> Table {
        self.left = true;
        self
    }

    /// Draw a rule after every row.
    #[must_use]
    pub fn rule_every_row(mut self) -> Table {
        self.rule_every_row = true;
        self
    }

    /// Appends a row; cells may contain newlines.
    pub fn add_row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                for line in cell.lines() {
                    widths[i] = widths[i].max(line.chars().count());
                }
            }
        }
        let rule: String = {
            let parts: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
            format!("+{}+", parts.join("+"))
        };
        let mut out = String::new();
        out.push_str(&rule);
        out.push('\n');
        out.push_str(&self.render_row(&self.header, &widths, self.left));
        out.push_str(&rule);
        out.push('\n');
        for (n, row) in self.rows.iter().enumerate() {
            out.push_str(&self.render_row(row, &widths, self.left));
            if self.rule_every_row || n + 1 == self.rows.len() {
                out.push_str(&rule);
                out.push('\n');
            }
        }
        if self.rows.is_empty() {
            // prettytable still closes an empty body with a rule.
            out.push_str(&rule);
            out.push('\n');
        }
        out.trim_end_matches('\n').to_owned()
    }

    fn render_row(&self, row: &[String], widths: &[usize], left: bool) -> String {
        let height = row
            .iter()
            .map(|c| c.lines().count().max(1))
            .max()
            .unwrap_or(1);
        let mut out = String::new();
        for line_no in 0..height {
            out.push('|');
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let text = cell.lines().nth(line_no).unwrap_or("");
                let pad = width - text.chars().count();
                let (l, r) = if left {
                    (0, pad)
                } else {
                    (pad / 2, pad - pad / 2)
                };
                out.push(' ');
                out.push_str(&" ".repeat(l));
                out.push_str(text);
                out.push_str(&" ".repeat(r));
                out.push_str(" |");
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_prettytable() {
        let mut t = Table::new(&["Migration", "Total Found", "Completed"]);
        t.add_row(vec![
            "create_incomplete_consumers".into(),
            "3".into(),
            "3".into(),
        ]);
        assert_eq!(
            t.render(),
            "+-----------------------------+-------------+-----------+\n\
             |          Migration          | Total Found | Completed |\n\
             +-----------------------------+-------------+-----------+\n\
             | create_incomplete_consumers |      3      |     3     |\n\
             +-----------------------------+-------------+-----------+"
        );
    }

    #[test]
    fn an_empty_table_is_closed_by_a_rule() {
        let t = Table::new(&["Migration", "Total Found", "Completed"]);
        assert_eq!(
            t.render(),
            "+-----------+-------------+-----------+\n\
             | Migration | Total Found | Completed |\n\
             +-----------+-------------+-----------+\n\
             +-----------+-------------+-----------+"
        );
    }

    #[test]
    fn multi_line_cells_stack_and_align_left() {
        let mut t = Table::new(&["Upgrade Check Results"])
            .left_aligned()
            .rule_every_row();
        t.add_row(vec!["Check: A\nResult: Success\nDetails: None".into()]);
        t.add_row(vec!["Check: B\nResult: Warning\nDetails: x".into()]);
        let text = t.render();
        assert!(text.contains("| Upgrade Check Results |"), "{text}");
        assert!(text.contains("| Check: A              |"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with('+')).count(),
            4,
            "{text}"
        );
    }
}
