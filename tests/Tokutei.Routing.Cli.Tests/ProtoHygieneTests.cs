using Google.Protobuf.Reflection;
using Tokutei.Routing.Cli.Tests.Infrastructure;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>
/// buf keeps the contract clean: lint (STANDARD + COMMENTS) passes and catches an undocumented field; breaking
/// (FILE) against the committed baseline of the last released contract passes for the contract as it is and catches a
/// removed or renumbered field; the descriptor set tools use holds the contract with its imports.
/// </summary>
public sealed class ProtoHygieneTests
{
    [Fact]
    public async Task Lint_Contract_Passes()
    {
        var run = await Buf(Repo.Protos, "lint");
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public async Task Lint_FieldWithoutComment_IsCaught()
    {
        using var copy = ContractCopy.Create();
        copy.Edit("application.proto", "  // Nationality or region, as written on the card.\n", string.Empty);

        var run = await Buf(copy.Root, "lint");

        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("nationality", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Breaking_ContractAsItIs_PassesAgainstTheBaseline()
    {
        using var copy = ContractCopy.Create();
        var run = await Breaking(copy.Root);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public async Task Breaking_RemovedField_IsCaught()
    {
        using var copy = ContractCopy.Create();
        copy.Edit("application.proto", "  string nationality = 6;\n", string.Empty);

        var run = await Breaking(copy.Root);

        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("Previously present field \"6\" with name \"nationality\" on message \"Applicant\" was deleted", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Breaking_RenumberedField_IsCaught()
    {
        using var copy = ContractCopy.Create();
        copy.Edit("routing_service.proto", "  string request_id = 1;\n", "  string request_id = 3;\n");

        var run = await Breaking(copy.Root);

        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("\"1\" with name \"request_id\" on message \"RouteCaseRequest\"", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Breaking_RenamedEnumValue_IsCaught()
    {
        using var copy = ContractCopy.Create();
        copy.Edit("reference.proto", "  ACCOMPANYING_PROCEDURE_CHANGE_OF_RESIDENCE = 10;\n", "  ACCOMPANYING_PROCEDURE_MOVE = 10;\n");

        var run = await Breaking(copy.Root);

        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("ACCOMPANYING_PROCEDURE_CHANGE_OF_RESIDENCE", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_DescriptorSet_HoldsTheContractAndItsImports()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("tokutei-image-").FullName, "tokutei-routing-v1.binpb");
        try
        {
            var run = await Buf(Repo.Protos, "build", "--path", "tokutei", "-o", output);
            Assert.True(run.ExitCode == 0, run.ToString());

            var files = FileDescriptorSet.Parser.ParseFrom(File.ReadAllBytes(output)).File;
            var names = files.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("tokutei/routing/v1/routing_service.proto", names);
            Assert.Contains("tokutei/routing/v1/case_intake_service.proto", names);
            Assert.Contains("google/type/date.proto", names);
            var service = files.Single(f => f.Name == "tokutei/routing/v1/routing_service.proto").Service.Single();
            Assert.Equal("RoutingService", service.Name);
            Assert.Equal(
                ["RouteCase", "ExplainRoute", "GetCase", "ListCases", "RedriveCase", "ListProcedures", "ListOffices", "GetOffice", "GetCaseAudit"],
                service.Method.Select(m => m.Name).ToArray());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(output)!, recursive: true);
        }
    }

    [Fact]
    public void Baseline_IsAnImageOfTheV1Contract()
    {
        var files = FileDescriptorSet.Parser.ParseFrom(File.ReadAllBytes(Repo.Baseline)).File;
        Assert.Contains(files, f => f.Name == "tokutei/routing/v1/application.proto" && f.Package == "tokutei.routing.v1");
    }

    private static Task<ProcessResult> Breaking(string protos) =>
        Buf(protos, "breaking", "--path", "tokutei", "--against", Repo.Baseline);

    private static Task<ProcessResult> Buf(string workingDirectory, params string[] args)
    {
        _ = Repo.GoogleProtos;
        return Processes.RunAsync(Repo.Buf, args, workingDirectory: workingDirectory);
    }

    /// <summary>
    /// A copy of protos/ (buf.yaml and the contract) in a temporary folder, with the same link to the Google protos,
    /// for edits that must never touch the real contract.
    /// </summary>
    private sealed class ContractCopy : IDisposable
    {
        private ContractCopy(string root) => Root = root;

        public string Root { get; }

        public static ContractCopy Create()
        {
            var root = Directory.CreateTempSubdirectory("tokutei-protos-").FullName;
            File.Copy(Path.Combine(Repo.Protos, "buf.yaml"), Path.Combine(root, "buf.yaml"));
            foreach (var file in Directory.GetFiles(Path.Combine(Repo.Protos, "tokutei"), "*.proto", SearchOption.AllDirectories))
            {
                var target = Path.Combine(root, Path.GetRelativePath(Repo.Protos, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            var google = new DirectoryInfo(Path.Combine(Repo.Protos, ".deps", "googleapis"));
            var resolved = google.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? google.FullName;
            Directory.CreateDirectory(Path.Combine(root, ".deps"));
            Directory.CreateSymbolicLink(Path.Combine(root, ".deps", "googleapis"), resolved);
            return new ContractCopy(root);
        }

        /// <summary>Replaces one exact text of tokutei/routing/v1/FILE; fails if the text is not there.</summary>
        public void Edit(string file, string from, string to)
        {
            var path = Path.Combine(Root, "tokutei", "routing", "v1", file);
            var text = File.ReadAllText(path);
            Assert.True(text.Contains(from, StringComparison.Ordinal), $"{file} no longer holds {from.Trim()}: update the test");
            File.WriteAllText(path, text.Replace(from, to, StringComparison.Ordinal));
        }

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }
}
