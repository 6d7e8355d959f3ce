using System.Collections.Frozen;
using Google.Protobuf.Reflection;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Input;

/// <summary>
/// The contract's enums by their proto names: flags accept the full name (CARD_KIND_SPECIFIED_RESIDENCE_CARD), the
/// name after the prefix (specified-residence-card) or an unambiguous start of it (online); output prints proto names.
/// </summary>
internal static class ProtoEnums
{
    private static readonly FrozenDictionary<Type, EnumDescriptor> Descriptors = new[]
        {
            ApplicationReflection.Descriptor,
            ReferenceReflection.Descriptor,
            DecisionReflection.Descriptor,
            RoutedCaseReflection.Descriptor,
        }
        .SelectMany(f => f.EnumTypes)
        .ToFrozenDictionary(e => e.ClrType);

    /// <summary>Parses a flag value into an enum of the contract; a usage error names the accepted values.</summary>
    public static T Parse<T>(string text, string flag)
        where T : struct, Enum
    {
        var descriptor = Descriptors[typeof(T)];
        var prefix = Prefix(descriptor);
        var wanted = text.Trim().Replace('-', '_').ToUpperInvariant();
        var values = descriptor.Values.Where(v => v.Number != 0).ToList();
        var exact = values.FirstOrDefault(v => v.Name == wanted || v.Name == prefix + wanted);
        if (exact is not null)
        {
            return (T)Enum.ToObject(typeof(T), exact.Number);
        }

        var started = values.Where(v => wanted.Length > 0 && v.Name[prefix.Length..].StartsWith(wanted, StringComparison.Ordinal)).ToList();
        if (started.Count == 1)
        {
            return (T)Enum.ToObject(typeof(T), started[0].Number);
        }

        var accepted = string.Join(", ", values.Select(v => Kebab(v.Name[prefix.Length..])));
        throw new UsageException($"{flag}: '{text}' is not one of: {accepted}.");
    }

    /// <summary>The proto name of a value (CASE_STATE_ACCEPTED), or its number for a value this version does not know.</summary>
    public static string Name<T>(T value)
        where T : struct, Enum
    {
        var number = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
        return Descriptors[typeof(T)].FindValueByNumber(number)?.Name ?? number.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The proto name after the enum's prefix (ACCEPTED for CASE_STATE_ACCEPTED).</summary>
    public static string Short<T>(T value)
        where T : struct, Enum
    {
        var name = Name(value);
        var prefix = Prefix(Descriptors[typeof(T)]);
        return name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
    }

    /// <summary>The common prefix of an enum's values: the name of its zero value without UNSPECIFIED.</summary>
    private static string Prefix(EnumDescriptor descriptor)
    {
        var zero = descriptor.FindValueByNumber(0)?.Name ?? string.Empty;
        return zero.EndsWith("UNSPECIFIED", StringComparison.Ordinal) ? zero[..^"UNSPECIFIED".Length] : string.Empty;
    }

    private static string Kebab(string name) => name.Replace('_', '-').ToLowerInvariant();
}
