using Google.Protobuf;

namespace Tokutei.Routing.Cli.Tests.Infrastructure;

/// <summary>Reading the CLI's --json output and writing application files for it.</summary>
public static class Json
{
    public static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    /// <summary>An example's request with some texts replaced, as a file in <paramref name="folder"/>.</summary>
    public static string ExampleVariant(string folder, string example, string fileName, params (string From, string To)[] replacements)
    {
        var text = File.ReadAllText(Path.Combine(Repo.Examples, example + ".json"));
        foreach (var (from, to) in replacements)
        {
            Assert.True(text.Contains(from, StringComparison.Ordinal), $"{example} no longer holds {from}");
            text = text.Replace(from, to, StringComparison.Ordinal);
        }

        var path = Path.Combine(folder, fileName);
        File.WriteAllText(path, text);
        return path;
    }
}
