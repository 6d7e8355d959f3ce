using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using Google.Type;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Fuzz;

/// <summary>What a generator's requests must be answered with, beyond the rules every answer follows.</summary>
public enum Expect
{
    /// <summary>Any answer the contract allows.</summary>
    Allowed,

    /// <summary>OK: a valid request (so the OK paths are exercised, not only refusals).</summary>
    Ok,

    /// <summary>INVALID_ARGUMENT MALFORMED_MESSAGE: the request cannot be read as a message of the RPC.</summary>
    Malformed,
}

/// <summary>
/// One generated request: the generator that made it, the RPC, the raw body, what it must get, the personal data
/// no error may echo, and what exactly was done (the field changed), for failure messages.
/// </summary>
public sealed record FuzzRequest(
    string Generator,
    string Method,
    byte[] Body,
    Expect Expect = Expect.Allowed,
    IReadOnlyDictionary<string, string>? Headers = null,
    IReadOnlyList<string>? MustNotEcho = null,
    string? Detail = null);

/// <summary>
/// Generators of requests for the fuzz test: valid requests of every RPC, applications broken one way at a time
/// (invalid UTF-8, huge, empty, full-width and My Number-like strings, unknown enum numbers, missing messages,
/// impossible and edge dates, too many documents, oversize messages) and raw bytes (truncated, mutated, random,
/// wrongly framed or compressed). Every request is built from the <see cref="Random"/> it is given, so a seed and a
/// request number rebuild it: exactly, but for the ids of the cases routed before the run, which the server picks.
/// </summary>
public sealed class FuzzCorpus
{
    /// <summary>"123456789018" passes the 個人番号 check digit (施行令8条): eleven digits 12345678901, check 8.</summary>
    public const string KnownMyNumber = "123456789018";

    /// <summary>An ASCII placeholder put in a string field and then overwritten byte for byte with invalid UTF-8.</summary>
    private const string Marker = "~FUZZ-UTF8-MARKER~";

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xC3, 0x28],                   // a two-byte lead followed by ASCII
        [0xA0, 0xA1],                   // lone continuation bytes
        [0xE2, 0x28, 0xA1],             // broken three-byte sequence
        [0xE2, 0x82, 0x28],
        [0xF0, 0x28, 0x8C, 0xBC],       // broken four-byte sequence
        [0xF8, 0xA1, 0xA1, 0xA1, 0xA1], // five-byte form, never valid
        [0xC0, 0xAF],                   // overlong '/'
        [0xED, 0xA0, 0x80],             // UTF-16 surrogate encoded in UTF-8
        [0xF4, 0x90, 0x80, 0x80],       // above U+10FFFF
        [0xFF],
        [0xFE, 0xFE],
        [0xE3, 0x81],                   // a multi-byte sequence cut short
    ];

    private static readonly (int Year, int Month, int Day)[] BadDates =
    [
        (2026, 13, 1), (2026, 0, 1), (2026, 7, 0), (2026, 7, 32), (2026, 4, 31), (0, 7, 1), (10000, 1, 1),
        (2025, 2, 29), (2026, 2, 29), (1900, 2, 29), (2024, 2, 29), (2000, 2, 29), (-1, 1, 1), (1, 1, 1),
        (9999, 12, 31), (2026, 0, 0), (0, 0, 0), (int.MaxValue, int.MaxValue, int.MaxValue),
        (int.MinValue, 1, 1), (2026, 6, 13), (2026, 6, 14), (2026, 7, 2), (2027, 1, 1),
    ];

    private static readonly (int Year, int Month, int Day)[] LeapBirthdays =
    [
        (1992, 2, 29), (2000, 2, 29), (2008, 2, 29), (2010, 2, 28), (2010, 3, 1), (2012, 2, 29), (1991, 2, 29),
    ];

    private static readonly string[] Methods =
        ["RouteCase", "ExplainRoute", "GetCase", "ListCases", "RedriveCase", "ListProcedures", "ListOffices", "GetOffice"];

    private readonly List<(string Name, int Weight, Func<Random, FuzzRequest> Make)> _generators;
    private readonly int _totalWeight;
    private readonly IReadOnlyList<ProcedureFacts> _procedures;
    private readonly string[] _residenceCodes;
    private readonly string[] _officeCodes;
    private readonly string[] _prefectures;
    private readonly IReadOnlyList<string> _knownCaseIds;

    /// <param name="knownCaseIds">Ids of cases routed before the run, for GetCase, ListCases and RedriveCase.</param>
    public FuzzCorpus(IReadOnlyList<string> knownCaseIds)
    {
        _knownCaseIds = knownCaseIds;
        _procedures = [.. ReferenceFiles.EligibleProcedures];
        var governments = ReferenceFiles.ReadTsv("local_governments.tsv");
        _residenceCodes = [.. governments.Where(g => g["kind"] != "DESIGNATED_CITY").Select(g => g["code"])];
        _officeCodes =
        [
            .. ReferenceFiles.ReadTsv("immigration_offices.tsv").Select(o => o["code"]),
            .. governments.Select(g => g["code"]),
        ];
        _prefectures = [.. ReferenceFiles.ReadTsv("prefectures.tsv").Select(p => p["code"])];
        _generators =
        [
            // Valid requests: every RPC's OK path.
            ("valid.RouteCase", 8, rng => Message("valid.RouteCase", "RouteCase", NewRouteCase(rng), Expect.Ok)),
            ("valid.ExplainRoute", 5, rng => Message("valid.ExplainRoute", "ExplainRoute", NewExplainRoute(rng), Expect.Ok)),
            ("valid.GetOffice", 3, rng => Message("valid.GetOffice", "GetOffice", new GetOfficeRequest { Code = Pick(rng, _officeCodes) }, Expect.Ok)),
            ("valid.ListOffices", 3, rng => Message("valid.ListOffices", "ListOffices", ValidListOffices(rng), Expect.Ok)),
            ("valid.ListProcedures", 2, rng => Message("valid.ListProcedures", "ListProcedures", ValidListProcedures(rng), Expect.Ok)),
            ("valid.GetCase", 3, rng => Message("valid.GetCase", "GetCase", new GetCaseRequest { CaseId = Pick(rng, _knownCaseIds) }, Expect.Ok)),
            ("valid.ListCases", 2, rng => Message("valid.ListCases", "ListCases", ValidListCases(rng), Expect.Ok)),
            ("valid.gzip", 2, rng => Gzipped("valid.gzip", rng)),

            // Plausible but wrong parameters of the catalogue and case RPCs.
            ("params.unknownIds", 3, UnknownIds),
            ("params.listing", 3, ListingParameters),

            // Applications broken one way at a time.
            ("strings.invalidUtf8", 8, InvalidUtf8String),
            ("strings.huge", 4, rng => WithString("strings.huge", rng, Huge(rng))),
            ("strings.empty", 3, EmptyStrings),
            ("strings.fullWidth", 3, rng => WithString("strings.fullWidth", rng, FullWidth(rng))),
            ("strings.myNumber", 4, MyNumberString),
            ("strings.random", 3, rng => WithString("strings.random", rng, RandomText(rng, rng.Next(0, 80)))),
            ("enums.unknown", 5, UnknownEnum),
            ("messages.missing", 5, MissingMessages),
            ("dates.invalid", 5, InvalidDate),
            ("dates.leapBirthday", 3, LeapBirthday),
            ("documents.many", 3, ManyDocuments),
            ("numbers.random", 3, RandomNumbers),
            ("size.oversize", 1, Oversize),

            // Raw bytes.
            ("bytes.truncated", 4, Truncated),
            ("bytes.random", 4, RandomBytes),
            ("bytes.mutated", 10, rng => Mutated(rng, mutateFrame: false)),
            ("bytes.mutatedFrame", 3, rng => Mutated(rng, mutateFrame: true)),
            ("frame.compressedFlag", 3, CompressedFlag),
            ("frame.trailingData", 2, TrailingData),
            ("frame.badCompression", 2, BadCompression),
        ];
        _totalWeight = _generators.Sum(g => g.Weight);
    }

    public IEnumerable<string> GeneratorNames => _generators.Select(g => g.Name);

    /// <summary>A request from a generator drawn by weight.</summary>
    public FuzzRequest Next(Random rng)
    {
        var draw = rng.Next(_totalWeight);
        foreach (var (_, weight, make) in _generators)
        {
            if (draw < weight)
            {
                return make(rng);
            }

            draw -= weight;
        }

        throw new InvalidOperationException("weights do not add up");
    }

    /// <summary>A valid application of a random eligible procedure, resident anywhere, filed since the start.</summary>
    public Application ValidApplication(Random rng)
    {
        var procedure = _procedures[rng.Next(_procedures.Count)];
        var birth = new DateOnly(1950 + rng.Next(55), 1 + rng.Next(12), 1 + rng.Next(28));
        var filed = Applications.Today.AddDays(-rng.Next(0, 18));
        var application = Applications.Valid(procedure.Code, Pick(rng, _residenceCodes), birth, filed);
        foreach (var document in application.Documents)
        {
            document.DocumentId = DocumentId(rng);
            document.Sha256 = Sha256(rng);
        }

        return application;
    }

    public RouteCaseRequest NewRouteCase(Random rng) => new() { RequestId = Uuid(rng), Application = ValidApplication(rng) };

    private ExplainRouteRequest NewExplainRoute(Random rng)
    {
        var request = new ExplainRouteRequest { Application = ValidApplication(rng) };
        if (rng.Next(3) == 0)
        {
            request.AsOf = Applications.ProtoDate(Applications.Today.AddDays(rng.Next(0, 900)));
        }

        return request;
    }

    private ListOfficesRequest ValidListOffices(Random rng)
    {
        var request = new ListOfficesRequest { PageSize = rng.Next(0, 1001), Kind = (OfficeKind)rng.Next(0, 8) };
        if (rng.Next(2) == 0)
        {
            request.PrefectureCode = Pick(rng, _prefectures);
        }

        return request;
    }

    private static ListProceduresRequest ValidListProcedures(Random rng) =>
        new() { CardKind = (CardKind)rng.Next(0, 3), EligibleOnly = rng.Next(2) == 0 };

    private ListCasesRequest ValidListCases(Random rng)
    {
        var request = new ListCasesRequest { PageSize = rng.Next(0, 501), State = (CaseState)rng.Next(0, 5) };
        if (rng.Next(2) == 0)
        {
            request.DestinationCode = Pick(rng, _officeCodes);
        }

        return request;
    }

    /// <summary>Any valid request of any RPC: the seed of the byte-level generators.</summary>
    private (string Method, IMessage Message) AnyValid(Random rng) => rng.Next(8) switch
    {
        0 or 1 or 2 => ("RouteCase", NewRouteCase(rng)),
        3 or 4 => ("ExplainRoute", NewExplainRoute(rng)),
        5 => ("GetOffice", new GetOfficeRequest { Code = Pick(rng, _officeCodes) }),
        6 => ("ListOffices", ValidListOffices(rng)),
        _ => rng.Next(3) switch
        {
            0 => ("GetCase", new GetCaseRequest { CaseId = Pick(rng, _knownCaseIds) }),
            1 => ("ListCases", ValidListCases(rng)),
            _ => ("ListProcedures", ValidListProcedures(rng)),
        },
    };

    private FuzzRequest Gzipped(string name, Random rng)
    {
        var (method, message) = AnyValid(rng);
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
        {
            gzip.Write(message.ToByteArray());
        }

        return new FuzzRequest(name, method, RawGrpc.Frame(compressed.ToArray(), flag: 1), Expect.Ok, new Dictionary<string, string> { ["grpc-encoding"] = "gzip" });
    }

    private FuzzRequest UnknownIds(Random rng)
    {
        var id = rng.Next(4) switch
        {
            0 => Uuid(rng),
            1 => RandomText(rng, rng.Next(0, 40)),
            2 => Uuid(rng).ToUpperInvariant(),
            _ => "{" + Uuid(rng) + "}",
        };
        return rng.Next(3) switch
        {
            0 => Message("params.unknownIds", "GetCase", new GetCaseRequest { CaseId = id }),
            1 => Message("params.unknownIds", "RedriveCase", new RedriveCaseRequest { CaseId = rng.Next(2) == 0 ? id : Pick(rng, _knownCaseIds) }),
            _ => Message("params.unknownIds", "GetOffice", new GetOfficeRequest { Code = rng.Next(2) == 0 ? id : RandomDigits(rng, rng.Next(0, 9)) }),
        };
    }

    private FuzzRequest ListingParameters(Random rng)
    {
        int[] sizes = [0, 1, 500, 501, 1000, 1001, -1, int.MinValue, int.MaxValue, rng.Next(-100, 2000)];
        string[] prefectures = ["", "00", "48", "1", "001", "ab", "１３", Pick(rng, _prefectures), RandomText(rng, 3)];
        var token = rng.Next(3) switch
        {
            0 => string.Empty,
            1 => Convert.ToBase64String(RandomBytesOf(rng, rng.Next(1, 60))),
            _ => RandomText(rng, rng.Next(1, 60)),
        };
        return rng.Next(2) == 0
            ? Message("params.listing", "ListOffices", new ListOfficesRequest
            {
                PageSize = Pick(rng, sizes),
                PageToken = token,
                Kind = (OfficeKind)rng.Next(-2, 12),
                PrefectureCode = Pick(rng, prefectures),
            })
            : Message("params.listing", "ListCases", new ListCasesRequest
            {
                PageSize = Pick(rng, sizes),
                PageToken = token,
                State = (CaseState)rng.Next(-2, 9),
                DestinationCode = rng.Next(2) == 0 ? Pick(rng, _officeCodes) : RandomText(rng, rng.Next(0, 12)),
            });
    }

    private FuzzRequest InvalidUtf8String(Random rng)
    {
        var request = WithString("strings.invalidUtf8", rng, Marker);
        var marker = Encoding.ASCII.GetBytes(Marker);
        var body = request.Body;
        var at = body.AsSpan().IndexOf(marker);
        if (at < 0)
        {
            throw new InvalidOperationException("the marker is not in the encoded request");
        }

        // Same length, so every enclosing length prefix stays right: only the UTF-8 is wrong.
        var bad = Pick(rng, InvalidUtf8);
        bad.CopyTo(body, at + rng.Next(0, marker.Length - bad.Length + 1));
        return request with { Expect = Expect.Malformed };
    }

    private FuzzRequest EmptyStrings(Random rng)
    {
        var (method, message, application) = ApplicationRequest(rng);
        var fields = StringFields(rng);
        for (var i = rng.Next(1, 4); i > 0; i--)
        {
            Pick(rng, fields).Set(application, string.Empty);
        }

        return Message("strings.empty", method, message, mustNotEcho: PersonalData);
    }

    private FuzzRequest MyNumberString(Random rng)
    {
        var number = MyNumber(rng);
        string[] forms =
        [
            number,
            $"{number[..4]} {number[4..8]} {number[8..]}",
            $"{number[..4]}-{number[4..8]}-{number[8..]}",
            ToFullWidth(number),
            "番号" + number,
            number + "A",
        ];
        var request = WithString("strings.myNumber", rng, Pick(rng, forms));
        return request with { MustNotEcho = [.. PersonalData, number] };
    }

    private FuzzRequest UnknownEnum(Random rng)
    {
        int[] numbers = [99, -1, 1000, int.MaxValue, int.MinValue, 23, 24, rng.Next(4, 64)];
        var number = Pick(rng, numbers);
        switch (rng.Next(10))
        {
            case 0:
                return Message("enums.unknown", "ListOffices", new ListOfficesRequest { Kind = (OfficeKind)number });
            case 1:
                return Message("enums.unknown", "ListCases", new ListCasesRequest { State = (CaseState)number });
            case 2:
                return Message("enums.unknown", "ListProcedures", new ListProceduresRequest { CardKind = (CardKind)number });
            default:
                var (method, message, application) = ApplicationRequest(rng);
                switch (rng.Next(7))
                {
                    case 0: application.Applicant.Category = (ApplicantCategory)number; break;
                    case 1: application.Applicant.ResidentRecord = (ResidentRecord)number; break;
                    case 2: application.Procedure = (AccompanyingProcedure)number; break;
                    case 3: application.ResidentNotification = (ResidentNotification)number; break;
                    case 4: application.Channel = (FilingChannel)number; break;
                    case 5: application.Filer.Kind = (FilerKind)number; break;
                    default: Pick(rng, application.Documents).Kind = (DocumentKind)number; break;
                }

                return Message("enums.unknown", method, message, mustNotEcho: PersonalData);
        }
    }

    private FuzzRequest MissingMessages(Random rng)
    {
        var (method, message, application) = ApplicationRequest(rng);
        Action[] removals =
        [
            () => application.Applicant = null,
            () => application.Applicant.Name = null,
            () => application.Applicant.BirthDate = null,
            () => application.FiledOn = null,
            () => application.EventDate = null,
            () => application.Filer = null,
            () => application.Documents.Clear(),
            () => Pick(rng, application.Documents).Facts = null,
            () => Pick(rng, application.Documents).Photo = null,
            () => Pick(rng, application.Documents).Facts = new DocumentFacts(),
            () => Pick(rng, application.Documents).Photo = new PhotoFacts(),
            () => application.Documents.Add(new Document()),
            () => Pick(rng, application.Documents).Facts = new DocumentFacts { HolderName = new PersonName() },
        ];
        for (var i = rng.Next(1, 4); i > 0; i--)
        {
            try
            {
                Pick(rng, removals)();
            }
            catch (NullReferenceException)
            {
                // An earlier removal took away the parent: already missing.
            }
            catch (ArgumentOutOfRangeException)
            {
                // No document left to pick.
            }
        }

        if (rng.Next(8) == 0)
        {
            // The application itself, or an empty one.
            return rng.Next(2) == 0
                ? Message("messages.missing", method, method == "RouteCase" ? new RouteCaseRequest { RequestId = Uuid(rng) } : new ExplainRouteRequest())
                : Message("messages.missing", method, method == "RouteCase" ? new RouteCaseRequest { RequestId = Uuid(rng), Application = new Application() } : new ExplainRouteRequest { Application = new Application() });
        }

        return Message("messages.missing", method, message, mustNotEcho: PersonalData);
    }

    private FuzzRequest InvalidDate(Random rng)
    {
        var (method, message, application) = ApplicationRequest(rng);
        var (year, month, day) = Pick(rng, BadDates);
        var date = new Date { Year = year, Month = month, Day = day };
        switch (rng.Next(method == "ExplainRoute" ? 7 : 6))
        {
            case 0: application.Applicant.BirthDate = date; break;
            case 1: application.FiledOn = date; break;
            case 2: application.EventDate = date; break;
            case 3: CardDocument(rng, application).Facts.HolderBirthDate = date; break;
            case 4: PhotoDocument(rng, application).Photo.TakenOn = date; break;
            case 5: application.FiledOn = date; application.Applicant.BirthDate = date.Clone(); break;
            default: ((ExplainRouteRequest)message).AsOf = date; break;
        }

        return Message("dates.invalid", method, message, mustNotEcho: PersonalData);
    }

    /// <summary>Birthdays on 29 February (and around it), filed or explained around the birthday in later years.</summary>
    private FuzzRequest LeapBirthday(Random rng)
    {
        var (method, message, application) = ApplicationRequest(rng);
        var (year, month, day) = Pick(rng, LeapBirthdays);
        var birth = new Date { Year = year, Month = month, Day = day };
        application.Applicant.BirthDate = birth;
        foreach (var document in application.Documents.Where(d => d.Facts is not null))
        {
            document.Facts.HolderBirthDate = birth.Clone();
        }

        if (message is ExplainRouteRequest explain)
        {
            (int, int, int)[] asOf = [(2027, 2, 28), (2027, 3, 1), (2028, 2, 28), (2028, 2, 29), (2028, 3, 1), (2029, 2, 28), (2029, 3, 1)];
            var (y, m, d) = Pick(rng, asOf);
            explain.AsOf = new Date { Year = y, Month = m, Day = d };
        }

        return Message("dates.leapBirthday", method, message, mustNotEcho: PersonalData);
    }

    private FuzzRequest ManyDocuments(Random rng)
    {
        var (method, message, application) = ApplicationRequest(rng);
        int[] counts = [33, 64, 256, 257, 1000, 3000];
        var count = Pick(rng, counts);
        var kinds = Enum.GetValues<DocumentKind>();
        while (application.Documents.Count < count)
        {
            application.Documents.Add(new Document
            {
                Kind = Pick(rng, kinds),
                DocumentId = DocumentId(rng),
                Sha256 = Sha256(rng),
                PageCount = rng.Next(0, 3),
            });
        }

        return Message("documents.many", method, message, mustNotEcho: PersonalData);
    }

    private FuzzRequest RandomNumbers(Random rng)
    {
        var (method, message, application) = ApplicationRequest(rng);
        int[] numbers = [0, -1, 1, 29, 30, 31, 39, 40, 41, 1000, int.MaxValue, int.MinValue, rng.Next()];
        var document = Pick(rng, application.Documents);
        switch (rng.Next(4))
        {
            case 0: document.PageCount = Pick(rng, numbers); break;
            case 1: PhotoDocument(rng, application).Photo.HeightMm = Pick(rng, numbers); break;
            case 2: PhotoDocument(rng, application).Photo.WidthMm = Pick(rng, numbers); break;
            default: application.CardSubmitted = !application.CardSubmitted; application.Filer.ApplicantUnableToAppear = true; break;
        }

        return Message("numbers.random", method, message, mustNotEcho: PersonalData);
    }

    /// <summary>Over the 1 MiB MaxReceiveMessageSize: one huge string, or a few large documents.</summary>
    private FuzzRequest Oversize(Random rng)
    {
        var size = (1024 * 1024) + rng.Next(1, 64 * 1024);
        return WithString("size.oversize", rng, new string((char)('a' + rng.Next(26)), size)) with { Expect = Expect.Malformed };
    }

    private FuzzRequest Truncated(Random rng)
    {
        var (method, message) = AnyValid(rng);
        var frame = RawGrpc.Frame(message);
        var body = rng.Next(3) == 0
            ? RawGrpc.Frame(message.ToByteArray(), declaredLength: frame.Length - 5 + rng.Next(1, 2000))
            : frame[..rng.Next(0, frame.Length)];
        return new FuzzRequest("bytes.truncated", method, body, Expect.Malformed);
    }

    private static FuzzRequest RandomBytes(Random rng)
    {
        var bytes = RandomBytesOf(rng, rng.Next(0, 600));
        var body = rng.Next(2) == 0 ? RawGrpc.Frame(bytes) : bytes;
        return new FuzzRequest("bytes.random", Pick(rng, Methods), body);
    }

    /// <summary>A valid request with a few bit flips, deleted, inserted, replaced or duplicated bytes.</summary>
    private FuzzRequest Mutated(Random rng, bool mutateFrame)
    {
        var (method, message) = AnyValid(rng);
        var bytes = new List<byte>(mutateFrame ? RawGrpc.Frame(message) : message.ToByteArray());
        for (var i = rng.Next(1, 9); i > 0; i--)
        {
            if (bytes.Count == 0)
            {
                bytes.Add((byte)rng.Next(256));
                continue;
            }

            var at = rng.Next(bytes.Count);
            switch (rng.Next(5))
            {
                case 0: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: bytes.RemoveAt(at); break;
                case 2: bytes.Insert(at, (byte)rng.Next(256)); break;
                case 3: bytes[at] = (byte)rng.Next(256); break;
                default:
                    var length = Math.Min(rng.Next(1, 32), bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
            }
        }

        var body = mutateFrame ? bytes.ToArray() : RawGrpc.Frame(bytes.ToArray());
        return new FuzzRequest(mutateFrame ? "bytes.mutatedFrame" : "bytes.mutated", method, body, MustNotEcho: PersonalData);
    }

    /// <summary>A compressed flag with no grpc-encoding, with "identity", or a flag byte other than 0 and 1.</summary>
    private FuzzRequest CompressedFlag(Random rng)
    {
        var (method, message) = AnyValid(rng);
        var bytes = message.ToByteArray();
        return rng.Next(3) switch
        {
            0 => new FuzzRequest("frame.compressedFlag", method, RawGrpc.Frame(bytes, flag: 1), Expect.Malformed),
            1 => new FuzzRequest("frame.compressedFlag", method, RawGrpc.Frame(bytes, flag: 1), Expect.Malformed, new Dictionary<string, string> { ["grpc-encoding"] = "identity" }),
            _ => new FuzzRequest("frame.compressedFlag", method, RawGrpc.Frame(bytes, flag: (byte)rng.Next(2, 256)), Expect.Malformed),
        };
    }

    /// <summary>Data after the one message of a unary call: stray bytes or a second message.</summary>
    private FuzzRequest TrailingData(Random rng)
    {
        var (method, message) = AnyValid(rng);
        var frame = RawGrpc.Frame(message);
        byte[] extra = rng.Next(2) == 0 ? RandomBytesOf(rng, rng.Next(1, 40)) : frame;
        return new FuzzRequest("frame.trailingData", method, [.. frame, .. extra], Expect.Malformed);
    }

    /// <summary>gzip and deflate bodies that are not compressed data, and a gzip bomb over the size limit.</summary>
    private FuzzRequest BadCompression(Random rng)
    {
        var (method, message) = AnyValid(rng);
        if (rng.Next(4) == 0)
        {
            using var bomb = new MemoryStream();
            using (var gzip = new GZipStream(bomb, CompressionLevel.Optimal))
            {
                gzip.Write(new byte[(2 * 1024 * 1024) + rng.Next(1024)]);
            }

            return new FuzzRequest("frame.badCompression", method, RawGrpc.Frame(bomb.ToArray(), flag: 1), Expect.Malformed, new Dictionary<string, string> { ["grpc-encoding"] = "gzip" });
        }

        var encoding = rng.Next(2) == 0 ? "gzip" : "deflate";
        var body = rng.Next(2) == 0 ? message.ToByteArray() : RandomBytesOf(rng, rng.Next(1, 200));
        // Mostly unreadable, but an uncompressed or random body can happen to inflate to a message of the RPC.
        return new FuzzRequest("frame.badCompression", method, RawGrpc.Frame(body, flag: 1), Expect.Allowed, new Dictionary<string, string> { ["grpc-encoding"] = encoding });
    }

    /// <summary>A request of a random RPC with one of its string fields set to the value.</summary>
    private FuzzRequest WithString(string name, Random rng, string value)
    {
        switch (rng.Next(12))
        {
            case 0: return Message(name, "GetOffice", new GetOfficeRequest { Code = value }) with { Detail = "code" };
            case 1: return Message(name, "GetCase", new GetCaseRequest { CaseId = value }) with { Detail = "case_id" };
            case 2: return Message(name, "RedriveCase", new RedriveCaseRequest { CaseId = value }) with { Detail = "case_id" };
            case 3:
                return rng.Next(2) == 0
                    ? Message(name, "ListOffices", new ListOfficesRequest { PrefectureCode = value }) with { Detail = "prefecture_code" }
                    : Message(name, "ListOffices", new ListOfficesRequest { PageToken = value }) with { Detail = "page_token" };
            case 4:
                return rng.Next(2) == 0
                    ? Message(name, "ListCases", new ListCasesRequest { DestinationCode = value }) with { Detail = "destination_code" }
                    : Message(name, "ListCases", new ListCasesRequest { PageToken = value }) with { Detail = "page_token" };
            case 5:
                return Message(name, "RouteCase", new RouteCaseRequest { RequestId = value, Application = ValidApplication(rng) }, mustNotEcho: PersonalData) with { Detail = "request_id" };
            default:
                var (method, message, application) = ApplicationRequest(rng);
                var (field, set) = Pick(rng, StringFields(rng));
                set(application, value);
                return Message(name, method, message, mustNotEcho: PersonalData) with { Detail = "application." + field };
        }
    }

    /// <summary>A RouteCase or ExplainRoute request around a valid application, and that application.</summary>
    private (string Method, IMessage Message, Application Application) ApplicationRequest(Random rng)
    {
        if (rng.Next(2) == 0)
        {
            var route = NewRouteCase(rng);
            return ("RouteCase", route, route.Application);
        }

        var explain = NewExplainRoute(rng);
        return ("ExplainRoute", explain, explain.Application);
    }

    /// <summary>Every string field of an application, with a setter that creates what is missing on the way.</summary>
    private static (string Field, Action<Application, string> Set)[] StringFields(Random rng) =>
    [
        ("applicant.card_number", (a, v) => a.Applicant.CardNumber = v),
        ("applicant.name.family_name", (a, v) => a.Applicant.Name.FamilyName = v),
        ("applicant.name.given_name", (a, v) => a.Applicant.Name.GivenName = v),
        ("applicant.name.name_kanji", (a, v) => a.Applicant.Name.NameKanji = v),
        ("applicant.nationality", (a, v) => a.Applicant.Nationality = v),
        ("residence_local_government_code", (a, v) => a.ResidenceLocalGovernmentCode = v),
        ("filer.relationship", (a, v) => a.Filer.Relationship = v),
        ("documents.document_id", (a, v) => Pick(rng, a.Documents).DocumentId = v),
        ("documents.sha256", (a, v) => Pick(rng, a.Documents).Sha256 = v),
        ("documents.facts.card_number", (a, v) => CardDocument(rng, a).Facts.CardNumber = v),
        ("documents.facts.holder_name.family_name", (a, v) => CardDocument(rng, a).Facts.HolderName.FamilyName = v),
        ("documents.facts.holder_name.given_name", (a, v) => CardDocument(rng, a).Facts.HolderName.GivenName = v),
    ];

    /// <summary>A document with facts (the card, or a new one); a document always has its holder's name.</summary>
    private static Document CardDocument(Random rng, Application application)
    {
        var withFacts = application.Documents.Where(d => d.Facts is not null).ToList();
        if (withFacts.Count > 0)
        {
            return Pick(rng, withFacts);
        }

        var document = new Document
        {
            Kind = DocumentKind.ResidenceCard,
            DocumentId = DocumentId(rng),
            Sha256 = Sha256(rng),
            PageCount = 1,
            Facts = new DocumentFacts { HolderName = new PersonName(), HolderBirthDate = application.Applicant.BirthDate?.Clone() },
        };
        application.Documents.Add(document);
        return document;
    }

    private static Document PhotoDocument(Random rng, Application application)
    {
        var photos = application.Documents.Where(d => d.Photo is not null).ToList();
        if (photos.Count > 0)
        {
            return Pick(rng, photos);
        }

        var photo = new Document
        {
            Kind = DocumentKind.Photo,
            DocumentId = DocumentId(rng),
            Sha256 = Sha256(rng),
            PageCount = 1,
            Photo = new PhotoFacts { TakenOn = Applications.ProtoDate(Applications.PhotoTakenOn), HeightMm = 40, WidthMm = 30 },
        };
        application.Documents.Add(photo);
        return photo;
    }

    private static readonly string[] PersonalData = [Applications.CardNumber, Applications.FamilyName, Applications.GivenName];

    private static FuzzRequest Message(string name, string method, IMessage message, Expect expect = Expect.Allowed, IReadOnlyList<string>? mustNotEcho = null) =>
        new(name, method, RawGrpc.Frame(message), expect, MustNotEcho: mustNotEcho);

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    /// <summary>A version-4 UUID from the generator, so that reruns with the same seed send the same ids.</summary>
    public static string Uuid(Random rng)
    {
        var hex = Convert.ToHexStringLower(RandomBytesOf(rng, 16)).ToCharArray();
        hex[12] = '4';
        hex[16] = "89ab"[rng.Next(4)];
        var text = new string(hex);
        return $"{text[..8]}-{text[8..12]}-{text[12..16]}-{text[16..20]}-{text[20..]}";
    }

    /// <summary>Letters only: a digit run in an id could pass the My Number check (see Applications.NewDocumentId).</summary>
    private static string DocumentId(Random rng) =>
        "doc-" + string.Concat(Enumerable.Range(0, 16).Select(_ => (char)('a' + rng.Next(26))));

    /// <summary>A SHA-256 hex digest with no run of twelve digits (which the server would read as a My Number).</summary>
    private static string Sha256(Random rng)
    {
        var hex = Convert.ToHexStringLower(RandomBytesOf(rng, 32)).ToCharArray();
        for (var i = 8; i < hex.Length; i += 9)
        {
            hex[i] = "abcdef"[rng.Next(6)];
        }

        return new string(hex);
    }

    /// <summary>Eleven random digits and the 個人番号 check digit (施行令8条): weights 6..2,7..2 from the right.</summary>
    public static string MyNumber(Random rng)
    {
        if (rng.Next(4) == 0)
        {
            return KnownMyNumber;
        }

        var digits = RandomDigits(rng, 11);
        var sum = 0;
        for (var n = 1; n <= 11; n++)
        {
            var p = digits[11 - n] - '0';
            var q = n <= 6 ? n + 1 : n - 5;
            sum += p * q;
        }

        var remainder = sum % 11;
        var check = remainder <= 1 ? 0 : 11 - remainder;
        return digits + (char)('0' + check);
    }

    private static string Huge(Random rng)
    {
        var length = (100 * 1024) + rng.Next(0, 1024);
        return rng.Next(3) switch
        {
            0 => new string('A', length),
            1 => string.Concat(Enumerable.Repeat("東京都千代田区", length / 7 / 3)),
            _ => RandomText(rng, length / 4),
        };
    }

    private static string FullWidth(Random rng)
    {
        string[] values = ["１３１０１６", "０１１０１１", "ＡＢ１２３４５６７８ＣＤ", "ＡＢ12345678CD", "ＮＧＵＹＥＮ", "２０２６", "１", "٣١٠١٦٠", "１３１０１6"];
        return Pick(rng, values);
    }

    private static string ToFullWidth(string digits) => string.Concat(digits.Select(c => (char)(c - '0' + '０')));

    private static string RandomDigits(Random rng, int length) =>
        string.Concat(Enumerable.Range(0, length).Select(_ => (char)('0' + rng.Next(10))));

    /// <summary>Text from several scripts, with control characters and symbols; always valid UTF-16.</summary>
    private static string RandomText(Random rng, int length)
    {
        string[] alphabets = ["ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "あいうえおアイウエオ漢字東京", " -_'.,/\\\"%\t\n\0", "ÀÉÎÕÜßñ", "\U0001F600\U0001F30F"];
        var builder = new StringBuilder(length);
        while (builder.Length < length)
        {
            var alphabet = Pick(rng, alphabets);
            var at = rng.Next(alphabet.Length);
            if (char.IsHighSurrogate(alphabet[at]) && at + 1 < alphabet.Length)
            {
                builder.Append(alphabet, at, 2);
            }
            else if (!char.IsSurrogate(alphabet[at]))
            {
                builder.Append(alphabet[at]);
            }
        }

        return builder.ToString();
    }

    private static byte[] RandomBytesOf(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }
}
