using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;

namespace Tokutei.Routing.Server.Api;

/// <summary>
/// Opaque page tokens (AIP-158). A token carries the filter it was issued for, so that a token reused with another
/// filter is refused instead of silently paging through the wrong list.
/// </summary>
internal static class PageTokens
{
    private const string CasesTag = "cases1";
    private const string OfficesTag = "offices1";

    public static int PageSize(int requested, int defaultSize, int maxSize)
    {
        if (requested == 0)
        {
            return defaultSize;
        }

        if (requested < 0 || requested > maxSize)
        {
            throw RpcErrors.Field("page_size", Reasons.InvalidPageSize, $"page_size must be between 1 and {maxSize} (0 for {defaultSize}).", $"page_size は1〜{maxSize}です(0は{defaultSize})。");
        }

        return requested;
    }

    public static string ForCases(string filter, CaseCursor? next) =>
        next is null ? string.Empty : Encode(CasesTag, filter, next.CaseId);

    public static CaseCursor? CasesCursor(string token, string filter)
    {
        if (token.Length == 0)
        {
            return null;
        }

        var parts = Decode(token, CasesTag, filter, 1);
        return Guid.TryParseExact(parts[0], "D", out _) ? new CaseCursor(parts[0]) : throw Invalid();
    }

    public static string ForOffices(string filter, int nextOffset, int total) =>
        nextOffset >= total ? string.Empty : Encode(OfficesTag, filter, nextOffset.ToString(CultureInfo.InvariantCulture));

    public static int OfficesOffset(string token, string filter)
    {
        if (token.Length == 0)
        {
            return 0;
        }

        var parts = Decode(token, OfficesTag, filter, 1);
        return int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var offset) ? offset : throw Invalid();
    }

    private static string Encode(params string[] parts) => WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(string.Join('\n', parts)));

    private static string[] Decode(string token, string tag, string filter, int values)
    {
        string[] parts;
        try
        {
            parts = Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(token)).Split('\n');
        }
        catch (FormatException)
        {
            throw Invalid();
        }

        if (parts.Length != values + 2 || parts[0] != tag || parts[1] != filter)
        {
            throw Invalid();
        }

        return parts[2..];
    }

    private static Grpc.Core.RpcException Invalid() =>
        RpcErrors.Field("page_token", Reasons.InvalidPageToken, "page_token was not issued for this query; start again without it.", "page_token が不正です。最初のページから取得し直してください。");
}
