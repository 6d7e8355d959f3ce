namespace Tokutei.Routing.Server.Tests.Infrastructure;

/// <summary>One row of data/reference/procedures.tsv: the facts of an accompanying procedure.</summary>
public sealed record ProcedureFacts(
    string Code,
    string Card,
    string Jurisdiction,
    bool Eligible,
    IReadOnlyList<string> DeemedWith,
    string PhotoWithAccompanying,
    bool CardShown,
    bool PassportRequired,
    int DeadlineDays)
{
    public bool IsSpr => Card == "SPR_CERTIFICATE";

    public bool IsBureau => Jurisdiction == "REGIONAL_BUREAU";

    /// <summary>The accompanying procedure submits its own photo for applicants aged 16 or over.</summary>
    public bool PhotoWithAccompanyingFrom16 => PhotoWithAccompanying == "age16plus";
}

/// <summary>
/// Reads the repository's reference data (data/reference/*.tsv). These are the published facts the tests are
/// written against; expected outcomes are never computed by the server's own code.
/// </summary>
public static class ReferenceFiles
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);
    private static readonly Lazy<IReadOnlyList<ProcedureFacts>> ProcedureRows = new(LoadProcedures);

    public static string RepositoryRoot => Root.Value;

    /// <summary>Every procedure, in catalogue order.</summary>
    public static IReadOnlyList<ProcedureFacts> Procedures => ProcedureRows.Value;

    public static IEnumerable<ProcedureFacts> EligibleProcedures => Procedures.Where(p => p.Eligible);

    public static ProcedureFacts Procedure(string code) =>
        Procedures.SingleOrDefault(p => p.Code == code) ?? throw new ArgumentOutOfRangeException(nameof(code), code, "not in procedures.tsv");

    /// <summary>The rows of a reference file as column → value maps (one header row, tab-separated, no quoting).</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> ReadTsv(string fileName)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, "data", "reference", fileName));
        var header = lines[0].Split('\t');
        return lines.Skip(1)
            .Where(line => line.Length > 0)
            .Select(line =>
            {
                var values = line.Split('\t');
                var row = new Dictionary<string, string>(StringComparer.Ordinal);
                for (var i = 0; i < header.Length; i++)
                {
                    row[header[i]] = i < values.Length ? values[i] : string.Empty;
                }

                return (IReadOnlyDictionary<string, string>)row;
            })
            .ToList();
    }

    private static List<ProcedureFacts> LoadProcedures() =>
        ReadTsv("procedures.tsv")
            .Select(r => new ProcedureFacts(
                r["code"],
                r["card"],
                r["jurisdiction"],
                r["eligible"] == "yes",
                r["deemed_with"].Split(',', StringSplitOptions.RemoveEmptyEntries),
                r["photo_with_accompanying"],
                r["card_shown"] == "yes",
                r["passport_required"] == "yes",
                r["deadline_days"].Length == 0 ? 0 : int.Parse(r["deadline_days"], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tokutei.Routing.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} holds Tokutei.Routing.sln.");
    }
}
