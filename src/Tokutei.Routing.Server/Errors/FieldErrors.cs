using Tokutei.Routing.Core.Routing;

namespace Tokutei.Routing.Server.Errors;

/// <summary>One malformed field: its proto path, the catalogue reason and a bilingual message free of personal data.</summary>
internal sealed record FieldError(string Field, string Reason, string MessageEn, string MessageJa);

/// <summary>Collects every malformed field of a request, so that all of them are reported at once.</summary>
internal sealed class FieldErrors
{
    private readonly List<FieldError> _errors = [];

    public IReadOnlyList<FieldError> All => _errors;

    public bool Any => _errors.Count > 0;

    public void Add(string field, string reason, string messageEn, string messageJa) =>
        _errors.Add(new FieldError(field, reason, messageEn, messageJa));

    public void Required(string field) =>
        Add(field, Reasons.FieldRequired, $"{field} is required.", $"{field} は必須です。");

    /// <summary>Throws INVALID_ARGUMENT with every collected violation, if there is any.</summary>
    public void ThrowIfAny()
    {
        if (Any)
        {
            throw RpcErrors.InvalidArgument(_errors);
        }
    }
}
