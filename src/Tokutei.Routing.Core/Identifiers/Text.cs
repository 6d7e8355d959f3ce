using System.Text;

namespace Tokutei.Routing.Core.Identifiers;

/// <summary>Small text helpers shared by the identifier types.</summary>
public static class Text
{
    /// <summary>
    /// Folds full-width ASCII variants (U+FF01–U+FF5E) and the ideographic space to their ASCII forms. Only for
    /// identifiers: names are kept exactly as received, since NFKC folding would merge registered variant kanji.
    /// </summary>
    public static string FoldWidth(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var needsFolding = false;
        foreach (var c in text)
        {
            if (c is >= '\uFF01' and <= '\uFF5E' or '\u3000')
            {
                needsFolding = true;
                break;
            }
        }

        if (!needsFolding)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0),
                '\u3000' => ' ',
                _ => c,
            });
        }

        return builder.ToString();
    }
}
