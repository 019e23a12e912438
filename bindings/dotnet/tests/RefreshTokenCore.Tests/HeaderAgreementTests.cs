using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using RefreshTokenCore.Native;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>
/// The header (generated from the Rust code by cbindgen, and checked against it by
/// tests/header_sync.rs) is the one source of every ABI fact. These tests fail when the C# layer
/// disagrees with it: a function missing on either side or with other parameters, an enum value,
/// a constant, or a struct's size or field offsets (as a C compiler lays the header out).
/// </summary>
public sealed class HeaderAgreementTests
{
    private static readonly Lazy<Header> Parsed = new(() => Header.Parse(File.ReadAllText(HeaderPath())));

    private static string HeaderPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string p = Path.Combine(dir.FullName, "include", "refresh_token_core.h");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("include/refresh_token_core.h above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_function_of_the_header_is_declared_in_csharp_with_the_same_parameters_and_no_other()
    {
        var header = Parsed.Value.Functions;
        var csharp = typeof(NativeMethods)
            .GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.Name.StartsWith("rtc_", StringComparison.Ordinal) && m.GetCustomAttribute<LibraryImportAttribute>() != null)
            .ToDictionary(m => m.Name);

        Assert.Equal(header.Keys.OrderBy(k => k, StringComparer.Ordinal), csharp.Keys.OrderBy(k => k, StringComparer.Ordinal));
        var mismatches = new List<string>();
        foreach (var (name, f) in header)
        {
            var m = csharp[name];
            string cs = Signature(Kind.Of(m.ReturnParameter), m.GetParameters().Select(Kind.Of));
            string c = Signature(f.Return, f.Parameters);
            if (cs != c) mismatches.Add($"{name}: header {c}, C# {cs}");
        }
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Every_callback_field_of_the_store_callbacks_has_the_headers_signature()
    {
        var fields = Parsed.Value.Structs["rtc_store_callbacks"];
        var cs = typeof(RtcStoreCallbacks).GetFields(BindingFlags.Instance | BindingFlags.Public);
        Assert.Equal(fields.Count, cs.Length);
        for (int i = 0; i < fields.Count; i++)
        {
            Assert.Equal(Pascal(fields[i].Name), cs[i].Name);
            Assert.Equal(fields[i].Type, Kind.Of(cs[i].GetModifiedFieldType()));
        }
    }

    [Theory]
    [InlineData("rtc_result", "RTC_RESULT_", typeof(ResultCode))]
    [InlineData("rtc_reason", "RTC_REASON_", typeof(RefusalReason))]
    [InlineData("rtc_token_usage", "RTC_TOKEN_USAGE_", typeof(RefreshTokenUsage))]
    [InlineData("rtc_token_expiration", "RTC_TOKEN_EXPIRATION_", typeof(RefreshTokenExpiration))]
    [InlineData("rtc_replay_scope", "RTC_REPLAY_SCOPE_", typeof(ReplayScope))]
    [InlineData("rtc_consume_outcome", "RTC_CONSUME_", typeof(ConsumeOutcome))]
    [InlineData("rtc_accept_consumed_policy", "RTC_ACCEPT_CONSUMED_", typeof(AcceptConsumedPolicy))]
    public void Every_enum_value_agrees_with_the_header(string cName, string prefix, Type csharp)
    {
        var header = Parsed.Value.Enums[cName].ToDictionary(
            e => Flat(e.Name[prefix.Length..]), e => e.Value);
        var cs = Enum.GetValues(csharp).Cast<object>().ToDictionary(
            v => Flat(Enum.GetName(csharp, v)!), v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture));
        // The .NET binding selects the host policy by giving a hook, not by a value.
        if (csharp == typeof(AcceptConsumedPolicy)) header.Remove("host");
        Assert.Equal(header.OrderBy(p => p.Key), cs.OrderBy(p => p.Key));
    }

    [Fact]
    public void The_constants_the_binding_mirrors_agree_with_the_header()
    {
        var defines = Parsed.Value.Defines;
        Assert.Equal(defines["RTC_ABI_VERSION"], NativeMethods.ExpectedAbiVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("INT64_MIN", defines["RTC_TIME_NONE"]);
        Assert.Equal(long.MinValue, RtcTime.None);
    }

    [Fact]
    public void Every_struct_mirror_has_the_size_and_field_offsets_a_c_compiler_gives_the_header()
    {
        var mirrors = new Dictionary<string, Type>
        {
            ["rtc_str"] = typeof(RtcStr),
            ["rtc_service_options"] = typeof(RtcServiceOptions),
            ["rtc_client"] = typeof(RtcClient),
            ["rtc_grant_row"] = typeof(RtcGrantRow),
            ["rtc_grant_filter"] = typeof(RtcGrantFilter),
            ["rtc_store_callbacks"] = typeof(RtcStoreCallbacks),
            ["rtc_store_request"] = typeof(RtcStoreRequest),
            ["rtc_outputs"] = typeof(RtcOutputs),
            ["rtc_refresh_request"] = typeof(RtcRefreshRequest),
            ["rtc_refresh_response"] = typeof(RtcRefreshResponse),
            ["rtc_store_options"] = typeof(RtcStoreOptions),
        };
        Assert.Equal(Parsed.Value.Structs.Keys.OrderBy(k => k), mirrors.Keys.OrderBy(k => k));

        var layout = CompiledLayout(Parsed.Value.Structs);
        var mismatches = new List<string>();
        foreach (var (c, t) in mirrors)
        {
            if (layout[c] != Marshal.SizeOf(t)) mismatches.Add($"sizeof({c}) = {layout[c]}, C# {Marshal.SizeOf(t)}");
            foreach (var f in Parsed.Value.Structs[c])
            {
                var field = t.GetField(Pascal(f.Name))!;
                var type = field.GetModifiedFieldType();
                string kind = mirrors.FirstOrDefault(p => p.Value == type.UnderlyingSystemType).Key ?? Kind.Of(type);
                if (kind != f.Type) mismatches.Add($"{c}.{f.Name}: header {f.Type}, C# {kind}");
                long cs = Marshal.OffsetOf(t, field.Name).ToInt64();
                if (layout[$"{c}.{f.Name}"] != cs) mismatches.Add($"offsetof({c}, {f.Name}) = {layout[$"{c}.{f.Name}"]}, C# {cs}");
            }
        }
        Assert.Empty(mismatches);
    }

    /// <summary>Compiles a C program that prints every struct's size and field offsets as the C
    /// compiler lays out the header.</summary>
    private static Dictionary<string, long> CompiledLayout(Dictionary<string, List<Field>> structs)
    {
        string dir = Directory.CreateTempSubdirectory("rtc-layout").FullName;
        var src = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include \"refresh_token_core.h\"\nint main(void) {\n");
        foreach (var (name, fields) in structs)
        {
            src.Append($"  printf(\"{name} %zu\\n\", sizeof(struct {name}));\n");
            foreach (var f in fields) src.Append($"  printf(\"{name}.{f.Name} %zu\\n\", offsetof(struct {name}, {f.Name}));\n");
        }
        src.Append("  return 0;\n}\n");
        File.WriteAllText(Path.Combine(dir, "layout.c"), src.ToString());
        string exe = Path.Combine(dir, "layout");
        Run(Environment.GetEnvironmentVariable("CC") ?? "cc",
            $"-std=c11 -Wall -Werror -I \"{Path.GetDirectoryName(HeaderPath())}\" -o \"{exe}\" \"{Path.Combine(dir, "layout.c")}\"");
        var result = Run(exe, "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        Directory.Delete(dir, recursive: true);
        return result;
    }

    private static string Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed: {error}");
        return output;
    }

    private static string Signature(string ret, IEnumerable<string> parameters) => $"{ret}({string.Join(", ", parameters)})";

    private static string Flat(string name) => name.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

    private static string Pascal(string snake) =>
        string.Concat(snake.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));

    private sealed record Field(string Name, string Type);

    private sealed record Function(string Return, List<string> Parameters);

    /// <summary>The parts of the cbindgen header the binding mirrors.</summary>
    private sealed class Header
    {
        public Dictionary<string, Function> Functions { get; } = new();
        public Dictionary<string, List<(string Name, long Value)>> Enums { get; } = new();
        public Dictionary<string, List<Field>> Structs { get; } = new();
        public Dictionary<string, string> Defines { get; } = new();
        private readonly Dictionary<string, string> _typedefs = new();

        public static Header Parse(string text)
        {
            var h = new Header();
            string code = Regex.Replace(text, @"/\*.*?\*/", "", RegexOptions.Singleline);
            code = Regex.Replace(code, @"//[^\n]*", "");
            foreach (Match m in Regex.Matches(code, @"^#define\s+(RTC_\w+)\s+(.+)$", RegexOptions.Multiline))
                h.Defines[m.Groups[1].Value] = m.Groups[2].Value.Trim();
            // Preprocessor lines (the C23 enum base) out of the way, then the declarations.
            code = Regex.Replace(code, @"^#[^\n]*", "", RegexOptions.Multiline);
            foreach (Match m in Regex.Matches(code, @"\benum\s+(rtc_\w+)\s*(?::\s*\w+\s*)?\{([^}]*)\}"))
                h.Enums[m.Groups[1].Value] = m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(e => e.Split('=', StringSplitOptions.TrimEntries))
                    .Select(p => (p[0], long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
            foreach (Match m in Regex.Matches(code, @"typedef\s+(?:enum\s+)?(\w+)\s+(rtc_\w+)\s*;"))
                h._typedefs[m.Groups[2].Value] = m.Groups[1].Value;
            foreach (Match m in Regex.Matches(code, @"typedef\s+([\w\s\*]+?)\(\s*\*\s*(rtc_\w+)\s*\)\s*\(([^;]*)\)\s*;"))
                h._typedefs[m.Groups[2].Value] = h.FnPointer(m.Groups[1].Value, m.Groups[3].Value);
            foreach (Match m in Regex.Matches(code, @"typedef\s+struct\s+(rtc_\w+)\s*\{([^}]*)\}\s*\w+\s*;"))
                h.Structs[m.Groups[1].Value] = m.Groups[2].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(h.FieldOf).ToList();
            foreach (Match m in Regex.Matches(code, @"(?<=^|;|\}|\{)\s*([\w\s\*]+?)\b(rtc_\w+)\s*\(([^()]*)\)\s*;"))
                h.Functions[m.Groups[2].Value] = new Function(h.KindOf(m.Groups[1].Value),
                    Params(m.Groups[3].Value).Select(p => h.KindOf(TypePart(p))).ToList());
            return h;
        }

        private static IEnumerable<string> Params(string list) => list.Trim() == "void"
            ? Array.Empty<string>()
            : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        /// <summary>"const char *key" → "const char *".</summary>
        private static string TypePart(string param) => Regex.Replace(param, @"\b\w+\s*$", "");

        private string FnPointer(string ret, string parameters) =>
            "fn " + Signature(KindOf(ret), Params(parameters).Select(p => KindOf(TypePart(p))));

        private Field FieldOf(string decl)
        {
            var fp = Regex.Match(decl, @"^([\w\s\*]+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", RegexOptions.Singleline);
            if (fp.Success) return new Field(fp.Groups[2].Value, FnPointer(fp.Groups[1].Value, fp.Groups[3].Value));
            var m = Regex.Match(decl, @"^(.*?)\b(\w+)$", RegexOptions.Singleline);
            return new Field(m.Groups[2].Value, KindOf(m.Groups[1].Value));
        }

        /// <summary>A C type as the size class the binding must match.</summary>
        private string KindOf(string cType)
        {
            string t = Regex.Replace(cType.Replace("const", "", StringComparison.Ordinal), @"\b(struct|enum)\b", "").Trim();
            if (t.EndsWith('*')) return "ptr";
            if (Enums.ContainsKey(t)) return "u32";
            if (_typedefs.TryGetValue(t, out var aliased) && aliased != t)
                return aliased.StartsWith("fn ", StringComparison.Ordinal) ? aliased : KindOf(aliased);
            return t switch
            {
                "void" => "void",
                "bool" or "uint8_t" => "u8",
                "int32_t" or "uint32_t" => "u32",
                "int64_t" or "uint64_t" => "u64",
                "size_t" => "size",
                _ when Structs.ContainsKey(t) => t,
                _ => throw new InvalidOperationException($"unknown C type '{cType}'"),
            };
        }
    }

    /// <summary>A C# interop type as the same size classes.</summary>
    private static class Kind
    {
        public static string Of(ParameterInfo p) => Of(p.GetModifiedParameterType());

        public static string Of(Type t)
        {
            if (t.IsFunctionPointer)
                return "fn " + Signature(Of(t.GetFunctionPointerReturnType()), t.GetFunctionPointerParameterTypes().Select(Of));
            t = t.UnderlyingSystemType;
            if (t.IsPointer || t == typeof(nint) || typeof(SafeHandle).IsAssignableFrom(t)) return "ptr";
            if (t.IsEnum) t = Enum.GetUnderlyingType(t);
            if (t == typeof(void)) return "void";
            if (t == typeof(byte) || t == typeof(bool)) return "u8";
            if (t == typeof(int) || t == typeof(uint)) return "u32";
            if (t == typeof(long) || t == typeof(ulong)) return "u64";
            if (t == typeof(nuint)) return "size";
            throw new InvalidOperationException($"no C size class for {t}");
        }
    }
}
