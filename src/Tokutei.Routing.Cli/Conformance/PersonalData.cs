using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Conformance;

/// <summary>
/// The personal data an application carries (names, birth dates, nationality, card numbers: DOMAIN.md), so that a
/// conformance run can prove that no answer and no error text echoes any of it.
/// </summary>
internal sealed class PersonalData
{
    private readonly List<(string Field, string Value)> _values = [];

    public static PersonalData Of(Application? application)
    {
        var data = new PersonalData();
        if (application is null)
        {
            return data;
        }

        if (application.Applicant is { } applicant)
        {
            data.AddName("applicant.name", applicant.Name);
            data.Add("applicant.card_number", applicant.CardNumber);
            data.Add("applicant.nationality", applicant.Nationality);
            data.AddDate("applicant.birth_date", applicant.BirthDate);
        }

        foreach (var document in application.Documents)
        {
            if (document.Facts is { } facts)
            {
                data.AddName("documents.facts.holder_name", facts.HolderName);
                data.Add("documents.facts.card_number", facts.CardNumber);
                data.AddDate("documents.facts.holder_birth_date", facts.HolderBirthDate);
            }
        }

        return data;
    }

    /// <summary>The fields whose value appears in any text of the message (Any details unpacked).</summary>
    public IReadOnlyList<string> EchoedIn(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var texts = new List<string>();
        Collect(message, texts);
        return [.. _values.Where(v => texts.Any(t => t.Contains(v.Value, StringComparison.Ordinal))).Select(v => v.Field).Distinct()];
    }

    private void AddName(string field, PersonName? name)
    {
        if (name is null)
        {
            return;
        }

        Add(field + ".family_name", name.FamilyName);
        Add(field + ".given_name", name.GivenName);
        Add(field + ".name_kanji", name.NameKanji);
    }

    private void AddDate(string field, Google.Type.Date? date)
    {
        if (date is { Year: > 0, Month: > 0, Day: > 0 })
        {
            Add(field, $"{date.Year:D4}-{date.Month:D2}-{date.Day:D2}");
        }
    }

    /// <summary>Values shorter than three characters would match by chance; identifiers are also checked folded to ASCII.</summary>
    private void Add(string field, string? value)
    {
        value = value?.Trim();
        if (string.IsNullOrEmpty(value) || value.Length < 3)
        {
            return;
        }

        _values.Add((field, value));
        var folded = FoldWidth(value);
        if (folded != value)
        {
            _values.Add((field, folded));
        }
    }

    private static string FoldWidth(string text) =>
        new([.. text.Select(c => c is >= '\uFF01' and <= '\uFF5E' ? (char)(c - 0xFEE0) : c == '\u3000' ? ' ' : c)]);

    private static void Collect(IMessage message, List<string> texts)
    {
        if (message is Any any)
        {
            var descriptor = ProtoJson.ErrorDetails.Find(Any.GetTypeName(any.TypeUrl));
            if (descriptor is not null)
            {
                Collect(descriptor.Parser.ParseFrom(any.Value), texts);
            }
            else
            {
                texts.Add(any.Value.ToStringUtf8());
            }

            return;
        }

        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                foreach (System.Collections.DictionaryEntry entry in (System.Collections.IDictionary)value)
                {
                    Add(entry.Key, texts);
                    Add(entry.Value, texts);
                }
            }
            else if (field.IsRepeated)
            {
                foreach (var item in (System.Collections.IEnumerable)value)
                {
                    Add(item, texts);
                }
            }
            else
            {
                Add(value, texts);
            }
        }
    }

    private static void Add(object? value, List<string> texts)
    {
        switch (value)
        {
            case string s:
                texts.Add(s);
                break;
            case IMessage m:
                Collect(m, texts);
                break;
        }
    }
}
