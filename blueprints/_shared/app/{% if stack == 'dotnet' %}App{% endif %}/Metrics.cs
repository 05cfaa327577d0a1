using System.Globalization;
using System.Text;

namespace App;

// Prometheus text format 0.0.4: a counter and a histogram, with no NuGet
// dependency (nothing to audit, nothing to restore at build time).

/// <summary>A histogram upper bound and its le label, spelled as the SLO rules query it.</summary>
public sealed record Bucket(double Bound, string Le);

internal static class Labels
{
    public static string Text(IReadOnlyList<string> names, IReadOnlyList<string> values)
    {
        var parts = new string[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            var escaped = values[i].Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal)
                .Replace("\"", "\\\"", StringComparison.Ordinal);
            parts[i] = $"{names[i]}=\"{escaped}\"";
        }
        return string.Join(',', parts);
    }

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

public sealed class Counter(string name, string help, params string[] labelNames)
{
    private readonly SortedDictionary<string, double> _series = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Inc(params string[] values)
    {
        var key = Labels.Text(labelNames, values);
        lock (_lock)
        {
            _series[key] = _series.GetValueOrDefault(key) + 1;
        }
    }

    public void Write(StringBuilder sb)
    {
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n");
        lock (_lock)
        {
            foreach (var (key, value) in _series)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{name}{{{key}}} {Labels.Number(value)}\n");
            }
        }
    }
}

public sealed class Histogram(string name, string help, IReadOnlyList<Bucket> buckets, params string[] labelNames)
{
    private sealed class Series(int size)
    {
        public long[] Counts { get; } = new long[size];
        public double Sum { get; set; }
        public long Count { get; set; }
    }

    private readonly SortedDictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Observe(double value, params string[] values)
    {
        var key = Labels.Text(labelNames, values);
        lock (_lock)
        {
            if (!_series.TryGetValue(key, out var s))
            {
                s = new Series(buckets.Count);
                _series[key] = s;
            }
            for (var i = 0; i < buckets.Count; i++)
            {
                if (value <= buckets[i].Bound)
                {
                    s.Counts[i]++;
                }
            }
            s.Sum += value;
            s.Count++;
        }
    }

    public void Write(StringBuilder sb)
    {
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        lock (_lock)
        {
            foreach (var (key, s) in _series)
            {
                for (var i = 0; i < buckets.Count; i++)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{key},le=\"{buckets[i].Le}\"}} {s.Counts[i]}\n");
                }
                sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{key},le=\"+Inf\"}} {s.Count}\n");
                sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{key}}} {Labels.Number(s.Sum)}\n");
                sb.Append(CultureInfo.InvariantCulture, $"{name}_count{{{key}}} {s.Count}\n");
            }
        }
    }
}

public sealed class Metrics(IReadOnlyList<Bucket> buckets)
{
    public Counter Requests { get; } =
        new("http_requests_total", "HTTP requests by status code, method and route.", "code", "method", "route");

    public Histogram Duration { get; } =
        new("http_request_duration_seconds", "HTTP request latency in seconds.", buckets, "method", "route");

    public string Render()
    {
        var sb = new StringBuilder();
        Requests.Write(sb);
        Duration.Write(sb);
        return sb.ToString();
    }
}
