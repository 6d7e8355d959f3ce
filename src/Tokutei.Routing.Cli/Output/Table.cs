using System.Globalization;
using System.Text;

namespace Tokutei.Routing.Cli.Output;

/// <summary>
/// A plain-text table whose columns line up in a terminal with Japanese text: wide (全角) characters count as two
/// columns. No borders, two spaces between columns, so the output also reads well in a log or a diff.
/// </summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public Table Add(params string?[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        _rows.Add([.. cells.Select(c => Clean(c ?? string.Empty))]);
        return this;
    }

    public void WriteTo(TextWriter writer, string indent = "")
    {
        ArgumentNullException.ThrowIfNull(writer);
        var columns = headers.Length;
        var widths = new int[columns];
        foreach (var row in _rows.Prepend(headers))
        {
            for (var i = 0; i < columns && i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], Width(row[i]));
            }
        }

        foreach (var row in _rows.Prepend(headers))
        {
            var line = new StringBuilder(indent);
            for (var i = 0; i < columns; i++)
            {
                var cell = i < row.Length ? row[i] : string.Empty;
                line.Append(cell);
                if (i < columns - 1)
                {
                    line.Append(' ', widths[i] - Width(cell) + 2);
                }
            }

            writer.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>Terminal columns a text takes: East Asian wide and full-width characters take two.</summary>
    public static int Width(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var width = 0;
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            var rune = Rune.GetRuneAt((string)enumerator.Current, 0);
            width += IsWide(rune.Value) ? 2 : 1;
        }

        return width;
    }

    private static bool IsWide(int c) =>
        c is >= 0x1100 and <= 0x115F
            or >= 0x2E80 and <= 0x303E
            or >= 0x3041 and <= 0x33FF
            or >= 0x3400 and <= 0x4DBF
            or >= 0x4E00 and <= 0x9FFF
            or >= 0xA000 and <= 0xA4CF
            or >= 0xAC00 and <= 0xD7A3
            or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F
            or >= 0xFF00 and <= 0xFF60
            or >= 0xFFE0 and <= 0xFFE6
            or >= 0x20000 and <= 0x3FFFD;

    /// <summary>One line per cell: control characters (a line break in a server message) become spaces.</summary>
    private static string Clean(string text) =>
        text.Any(char.IsControl) ? new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]) : text;
}
