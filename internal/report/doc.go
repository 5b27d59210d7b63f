// Package report renders the outcomes of 'mimverify check' (a judge.Report)
// and 'mimverify sweep' (a judge.Sweep) for people and for machines.
//
// Each format registers its name, the file extensions that select it and
// its writers (Format), from the init of the file that writes it; a format
// whose check and sweep writers live in separate files registers from each
// (html: html.go and sweephtml.go). Write and WriteSweep take a format
// name. The check formats:
//
//   - "text": a terminal table, one row per claim (verdict, measured value,
//     relation, predicted value, formula), then the detail of every failing
//     claim, the failing regime predicates of every claim outside its regime,
//     and a summary line. Failing claims are marked in the first column.
//   - "json": the report as indented JSON, in the field names of package
//     judge. JSON has no NaN or ±Inf: non-finite numbers are written as null
//     by the schema's judge.Float (ReadJSON reads them back as NaN).
//   - "markdown": the setting, the run, the verdict table (formulas as $…$),
//     the regime details and the phase events, for a pull-request comment or
//     a README; WriteLinked also links the figure files of --figures DIR.
//   - "html": one self-contained page (no external style sheet, script, font
//     or image) with the verdict table, the figures drawn with gonum/plot as
//     inline SVG, and a map of each cluster's partition when the positions
//     form a grid.
//   - "junit": JUnit XML, one test case per claim, for CI systems: a failing
//     claim is a failure, a claim outside its regime is skipped.
//
// Sweeps are written as text and Markdown tables (one row per point, and
// one per cell over seeds), as JSON, as CSV (one row per point and claim;
// a sweep-only format) and as an HTML page. WriteCheckFigures writes a
// check's figures as SVG files, WriteSweepFigures a sweep's verdict and
// margin diagrams or line plots as SVG and PNG files, all in the one style
// of figures_style.go.
//
// In every human-readable format a NaN or ±Inf value is printed as "—" in
// tables and left out of the figures.
package report
