using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Tokutei.Routing.Core.Identifiers;

namespace Tokutei.Routing.Core.Reference;

/// <summary>
/// Reads the reference data files (tab-separated, see data/reference/README.md), validates them and builds a
/// snapshot. Every problem is collected before refusing, so that one run of the loader shows all that is wrong.
/// </summary>
public static class ReferenceDataLoader
{
    /// <summary>The files a reference data set consists of.</summary>
    public static readonly IReadOnlyList<string> FileNames =
    [
        "policies.tsv",
        "prefectures.tsv",
        "procedures.tsv",
        "notifications.tsv",
        "immigration_offices.tsv",
        "local_governments.tsv",
    ];

    /// <summary>The data set compiled into this build.</summary>
    public static IReadOnlyDictionary<string, string> EmbeddedFiles()
    {
        var assembly = typeof(ReferenceDataLoader).Assembly;
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in FileNames)
        {
            using var stream = assembly.GetManifestResourceStream("reference/" + name)
                ?? throw new ReferenceDataException($"embedded reference file {name} is missing from the build");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            files[name] = reader.ReadToEnd();
        }

        return files;
    }

    /// <summary>Reads the data set from a folder holding the files of <see cref="FileNames"/>.</summary>
    public static IReadOnlyDictionary<string, string> FilesFromDirectory(string directory)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in FileNames)
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path))
            {
                throw new ReferenceDataException($"reference file {name} is missing from {directory}");
            }

            files[name] = File.ReadAllText(path, Encoding.UTF8);
        }

        return files;
    }

    /// <summary>The embedded data set, loaded and validated.</summary>
    public static ReferenceSnapshot LoadEmbedded() => Load(EmbeddedFiles());

    /// <summary>Validates the files and builds a snapshot; throws <see cref="ReferenceDataException"/> listing every problem.</summary>
    public static ReferenceSnapshot Load(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var problems = new List<string>();
        var tables = new Dictionary<string, Table>(StringComparer.Ordinal);
        foreach (var name in FileNames)
        {
            if (!files.TryGetValue(name, out var text))
            {
                problems.Add($"{name}: missing");
                continue;
            }

            tables[name] = Table.Parse(name, text, problems);
        }

        if (problems.Count > 0)
        {
            throw new ReferenceDataException(problems);
        }

        var policies = ReadPolicies(tables["policies.tsv"], problems);
        var prefectures = tables["prefectures.tsv"].Rows
            .Select(r => new Prefecture(r["code"], r["name_ja"], r["name_kana"], r["name_en"]))
            .ToList();
        var notifications = tables["notifications.tsv"].Rows
            .Select(r => new NotificationInfo(r["code"], r["name_ja"], r["name_en"], r["legal_basis"], r.Flag("registers_resident", problems)))
            .ToList();
        var procedures = tables["procedures.tsv"].Rows.Select(r => ReadProcedure(r, problems)).ToList();
        var offices = tables["immigration_offices.tsv"].Rows.Select(r => ReadImmigrationOffice(r, problems))
            .Concat(tables["local_governments.tsv"].Rows.Select(r => ReadLocalGovernment(r, problems)))
            .ToList();

        Validate(prefectures, notifications, procedures, offices, problems);
        if (problems.Count > 0 || policies is null)
        {
            throw new ReferenceDataException(problems);
        }

        return new ReferenceSnapshot(VersionOf(files, policies.SourceDate), policies, procedures, notifications, prefectures, offices);
    }

    private static string VersionOf(IReadOnlyDictionary<string, string> files, DateOnly sourceDate)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in FileNames)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name + "\n" + files[name].ReplaceLineEndings("\n") + "\n"));
        }

        var digest = Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
        return sourceDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "." + digest;
    }

    private static Policies? ReadPolicies(Table table, List<string> problems)
    {
        var values = table.Rows.ToDictionary(r => r["key"], r => r["value"], StringComparer.Ordinal);
        string Get(string key)
        {
            if (values.TryGetValue(key, out var value))
            {
                return value;
            }

            problems.Add($"policies.tsv: {key} is missing");
            return string.Empty;
        }

        DateOnly Date(string key)
        {
            var text = Get(key);
            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                return date;
            }

            problems.Add($"policies.tsv: {key} is not a yyyy-MM-dd date");
            return default;
        }

        int Number(string key)
        {
            if (int.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0)
            {
                return number;
            }

            problems.Add($"policies.tsv: {key} is not a positive whole number");
            return 0;
        }

        bool Boolean(string key)
        {
            var text = Get(key);
            if (bool.TryParse(text, out var flag))
            {
                return flag;
            }

            problems.Add($"policies.tsv: {key} is neither true nor false");
            return false;
        }

        var count = problems.Count;
        var policies = new Policies(
            OperationStart: Date("operation_start"),
            OnlineChannelSupported: Boolean("online_channel_supported"),
            ProxyUnderAge: Number("proxy_under_age"),
            ProxyWhenUnable: Boolean("proxy_when_unable"),
            PhotoMaxAgeMonths: Number("photo_max_age_months"),
            PhotoHeightMm: Number("photo_height_mm"),
            PhotoWidthMm: Number("photo_width_mm"),
            PhotoWaiverMinAge: Number("photo_waiver_min_age"),
            SourceDate: Date("source_date"));
        return problems.Count == count ? policies : null;
    }

    private static ProcedureInfo ReadProcedure(Row r, List<string> problems)
    {
        var eligible = r.Flag("eligible", problems);
        var photo = r["photo_with_accompanying"] switch
        {
            "age16plus" => PhotoRule.WithAccompanyingAge16Plus,
            "never" => PhotoRule.AlwaysSeparate,
            "" => PhotoRule.None,
            var other => r.Problem(problems, $"photo_with_accompanying '{other}' is not age16plus, never or empty", PhotoRule.None),
        };
        if (eligible && photo == PhotoRule.None)
        {
            r.Problem(problems, "an eligible procedure needs photo_with_accompanying", 0);
        }

        int? deadline = null;
        if (r["deadline_days"].Length > 0)
        {
            deadline = int.TryParse(r["deadline_days"], NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days > 0
                ? days
                : r.Problem(problems, "deadline_days is not a positive whole number", 0);
        }

        return new ProcedureInfo(
            Code: r["code"],
            Card: r["card"] switch
            {
                "RESIDENCE_CARD" => CardKind.SpecifiedResidenceCard,
                "SPR_CERTIFICATE" => CardKind.SpecifiedSprCertificate,
                var other => r.Problem(problems, $"card '{other}' is unknown", CardKind.SpecifiedResidenceCard),
            },
            Jurisdiction: r.Jurisdiction(problems),
            Eligible: eligible,
            NameJa: r["name_ja"],
            NameEn: r["name_en"],
            LegalBasis: r["legal_basis"],
            DeemedWith: r.List("deemed_with"),
            Photo: photo,
            CardShown: r.Flag("card_shown", problems),
            PassportRequired: r.Flag("passport_required", problems),
            DeadlineDays: deadline,
            Confidence: r["confidence"],
            Source: r["source"]);
    }

    private static Office ReadImmigrationOffice(Row r, List<string> problems) => new(
        Kind: r["kind"] switch
        {
            "REGIONAL_BUREAU" => OfficeKind.RegionalBureau,
            "DISTRICT_OFFICE" => OfficeKind.DistrictOffice,
            "AIRPORT_OFFICE" => OfficeKind.AirportOffice,
            var other => r.Problem(problems, $"kind '{other}' is not an immigration office kind", OfficeKind.RegionalBureau),
        },
        Code: r["code"],
        NameJa: r["name_ja"],
        NameEn: r["name_en"],
        NameKana: string.Empty,
        ParentCode: r["parent_code"],
        PrefectureCode: string.Empty,
        ResidencePrefectures: r.List("residence_prefectures"),
        Routable: r.Flag("routable", problems));

    private static Office ReadLocalGovernment(Row r, List<string> problems)
    {
        var kind = r["kind"] switch
        {
            "MUNICIPALITY" => OfficeKind.Municipality,
            "SPECIAL_WARD" => OfficeKind.SpecialWard,
            "DESIGNATED_CITY" => OfficeKind.DesignatedCity,
            "CITY_WARD" => OfficeKind.CityWard,
            var other => r.Problem(problems, $"kind '{other}' is not a local government kind", OfficeKind.Municipality),
        };
        if (!LocalGovernmentCode.TryParse(r["code"], out var code, out var error) || code.Value.Value != r["code"])
        {
            r.Problem(problems, error == LocalGovernmentCodeError.CheckDigit ? "code has a wrong check digit" : "code is not six ASCII digits", 0);
        }
        else if (code.Value.PrefectureCode != r["prefecture_code"])
        {
            r.Problem(problems, "code does not start with its prefecture_code", 0);
        }

        return new Office(
            Kind: kind,
            Code: r["code"],
            NameJa: r["name_ja"],
            NameEn: string.Empty,
            NameKana: r["name_kana"],
            ParentCode: r["parent_code"],
            PrefectureCode: r["prefecture_code"],
            ResidencePrefectures: [],
            // A designated city is never a destination: its wards are (DESTINATION_MUNICIPALITY).
            Routable: kind != OfficeKind.DesignatedCity);
    }

    private static void Validate(
        List<Prefecture> prefectures,
        List<NotificationInfo> notifications,
        List<ProcedureInfo> procedures,
        List<Office> offices,
        List<string> problems)
    {
        Duplicates(prefectures.Select(p => p.Code), "prefecture", problems);
        Duplicates(notifications.Select(n => n.Code), "notification", problems);
        Duplicates(procedures.Select(p => p.Code), "procedure", problems);
        Duplicates(offices.Select(o => o.Code), "office", problems);

        var prefectureCodes = prefectures.Select(p => p.Code).ToHashSet(StringComparer.Ordinal);
        for (var i = 1; i <= 47; i++)
        {
            var code = i.ToString("00", CultureInfo.InvariantCulture);
            if (!prefectureCodes.Contains(code))
            {
                problems.Add($"prefectures.tsv: prefecture {code} is missing");
            }

            var covering = offices.Where(o => o.IsImmigrationOffice && o.Routable && o.ResidencePrefectures.Contains(code)).ToList();
            if (covering.Count != 1)
            {
                problems.Add($"immigration_offices.tsv: prefecture {code} is covered by {covering.Count} routable offices, not exactly one");
            }
        }

        var byCode = offices.GroupBy(o => o.Code, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var office in offices)
        {
            if (office.Kind == OfficeKind.AirportOffice && (office.Routable || office.ResidencePrefectures.Count > 0))
            {
                problems.Add($"immigration_offices.tsv: airport office {office.Code} must be unroutable and cover no prefecture");
            }

            if (office.PrefectureCode.Length > 0 && !prefectureCodes.Contains(office.PrefectureCode))
            {
                problems.Add($"local_governments.tsv: {office.Code} names unknown prefecture {office.PrefectureCode}");
            }

            foreach (var covered in office.ResidencePrefectures.Where(p => !prefectureCodes.Contains(p)))
            {
                problems.Add($"immigration_offices.tsv: {office.Code} covers unknown prefecture {covered}");
            }

            if (office.ParentCode.Length == 0)
            {
                if (office.Kind is OfficeKind.CityWard or OfficeKind.DistrictOffice or OfficeKind.AirportOffice)
                {
                    problems.Add($"{office.Code}: a {office.Kind} needs a parent office");
                }

                continue;
            }

            var parentOk = byCode.TryGetValue(office.ParentCode, out var parent) && (office.Kind, parent.Kind) switch
            {
                (OfficeKind.CityWard, OfficeKind.DesignatedCity) => parent.PrefectureCode == office.PrefectureCode,
                (OfficeKind.DistrictOffice or OfficeKind.AirportOffice, OfficeKind.RegionalBureau) => true,
                _ => false,
            };
            if (!parentOk)
            {
                problems.Add($"{office.Code}: parent {office.ParentCode} is not a valid parent for a {office.Kind}");
            }
        }

        foreach (var city in offices.Where(o => o.Kind == OfficeKind.DesignatedCity))
        {
            if (!offices.Any(o => o.ParentCode == city.Code))
            {
                problems.Add($"local_governments.tsv: designated city {city.Code} has no wards");
            }
        }

        var notificationCodes = notifications.Select(n => n.Code).ToHashSet(StringComparer.Ordinal);
        foreach (var procedure in procedures)
        {
            foreach (var code in procedure.DeemedWith.Where(c => !notificationCodes.Contains(c)))
            {
                problems.Add($"procedures.tsv: {procedure.Code} names unknown notification {code} in deemed_with");
            }
        }
    }

    private static void Duplicates(IEnumerable<string> codes, string what, List<string> problems)
    {
        foreach (var code in codes.GroupBy(c => c, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            problems.Add($"duplicate {what} code {code}");
        }
    }

    private sealed class Table(string name, string[] header, List<Row> rows)
    {
        public string Name { get; } = name;

        public IReadOnlyList<string> Header { get; } = header;

        public IReadOnlyList<Row> Rows { get; } = rows;

        public static Table Parse(string name, string text, List<string> problems)
        {
            var lines = text.TrimStart('\uFEFF').ReplaceLineEndings("\n").Split('\n');
            var header = lines[0].Split('\t');
            var columns = header.Select((h, i) => (h, i)).ToDictionary(x => x.h, x => x.i, StringComparer.Ordinal);
            var rows = new List<Row>();
            for (var i = 1; i < lines.Length; i++)
            {
                if (lines[i].Length == 0)
                {
                    continue;
                }

                var cells = lines[i].Split('\t');
                if (cells.Length != header.Length)
                {
                    problems.Add($"{name} line {i + 1}: {cells.Length} cells where the header has {header.Length}");
                    continue;
                }

                rows.Add(new Row(name, i + 1, columns, cells));
            }

            return new Table(name, header, rows);
        }
    }

    private sealed class Row(string file, int line, Dictionary<string, int> columns, string[] cells)
    {
        public string this[string column] =>
            columns.TryGetValue(column, out var index)
                ? cells[index].Trim()
                : throw new ReferenceDataException($"{file}: column {column} is missing");

        public string[] List(string column) =>
            this[column].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public bool Flag(string column, List<string> problems) => this[column] switch
        {
            "yes" => true,
            "no" => false,
            var other => Problem(problems, $"{column} '{other}' is neither yes nor no", false),
        };

        public Jurisdiction Jurisdiction(List<string> problems) => this["jurisdiction"] switch
        {
            "REGIONAL_BUREAU" => Reference.Jurisdiction.RegionalBureau,
            "MUNICIPALITY" => Reference.Jurisdiction.Municipality,
            var other => Problem(problems, $"jurisdiction '{other}' is unknown", Reference.Jurisdiction.RegionalBureau),
        };

        public T Problem<T>(List<string> problems, string message, T fallback)
        {
            problems.Add($"{file} line {line}: {message}");
            return fallback;
        }
    }
}
