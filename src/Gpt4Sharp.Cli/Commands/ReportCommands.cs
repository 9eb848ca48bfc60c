using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Reporting;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary><c>gpt4sharp report compare RUN1 RUN2</c>: every numeric metric of two runs side by side.</summary>
public static class ReportCommands
{
    public static Command Create()
    {
        var report = new Command("report", "Work with run results (results.json and report.html).");
        var run1 = new Argument<string>("RUN1") { Description = "First run directory or results.json." };
        var run2 = new Argument<string>("RUN2") { Description = "Second run directory or results.json." };
        var outDir = Cli.Opt("--out", "Directory for the comparison report.html.", Path.Combine("runs", $"compare-{DateTime.Now:yyyyMMdd-HHmmss}"));
        var changedOnly = Cli.Opt("--changed-only", "Print only metrics that differ (the report keeps all).", false);
        var compare = new Command("compare", "Show the numeric metrics of two runs side by side with their differences.") { run1, run2, outDir, changedOnly };
        compare.SetHandler((parse, _) =>
        {
            var (a, b) = (parse.GetValue(run1)!, parse.GetValue(run2)!);
            var deltas = RunComparison.Compare(Results.Read(a), Results.Read(b));
            if (deltas.Count == 0) throw new UserError("Neither run's results.json holds any numeric metric; compare runs written by gpt4sharp commands.");
            var (name1, name2) = (RunName(a), RunName(b));
            var table = new Table().AddColumns("metric", Markup.Escape(name1), Markup.Escape(name2), "delta");
            foreach (var d in deltas.Where(d => !parse.GetValue(changedOnly) || d.Delta is not 0.0))
                table.AddRow(Markup.Escape(d.Metric), Cell(d.Run1), Cell(d.Run2), DeltaCell(d.Delta));
            AnsiConsole.Write(table);
            var path = RunComparison.BuildReport(name1, name2, deltas).Save(parse.GetValue(outDir)!);
            AnsiConsole.MarkupLineInterpolated($"{deltas.Count} metrics, {deltas.Count(d => d.Delta is { } x && x != 0)} changed. Report: [blue]{path}[/]");
            return 0;
        });
        report.Subcommands.Add(compare);
        return report;
    }

    static string RunName(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        return Path.GetFileName(File.Exists(full) ? Path.GetDirectoryName(full)! : full);
    }

    static string Cell(double? value) => value is { } v ? Markup.Escape(Report.Format(v)) : "[grey]—[/]";

    static string DeltaCell(double? delta) => delta switch
    {
        null => "[grey]—[/]",
        0 => "0",
        > 0 => $"[green]+{Report.Format(delta.Value)}[/]",
        _ => $"[red]{Report.Format(delta.Value)}[/]",
    };
}
