package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Finds the service a request belongs to: the configured service whose {@code url} is the longest
 * prefix of the request's URL (scheme, host, port, then whole path segments), otherwise
 * {@code host:port}.
 */
final class ServiceResolver {

	private final List<Entry> entries;

	ServiceResolver(Map<String, URI> serviceUrls) {
		List<Entry> list = new ArrayList<>();
		serviceUrls.forEach((name, url) -> list.add(new Entry(name, scheme(url), host(url), port(url), path(url))));
		list.sort(Comparator.comparingInt((Entry entry) -> entry.path().length()).reversed());
		this.entries = List.copyOf(list);
	}

	String resolve(URI uri) {
		String scheme = scheme(uri);
		String host = host(uri);
		int port = port(uri);
		String path = (uri.getRawPath() != null) ? uri.getRawPath() : "";
		for (Entry entry : this.entries) {
			if (entry.port() == port && entry.host().equals(host) && entry.scheme().equals(scheme)
					&& isPathPrefix(entry.path(), path)) {
				return entry.name();
			}
		}
		return host + ":" + port;
	}

	private static boolean isPathPrefix(String prefix, String path) {
		if (prefix.isEmpty()) {
			return true;
		}
		return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
	}

	private static String scheme(URI uri) {
		return (uri.getScheme() != null) ? uri.getScheme().toLowerCase(Locale.ROOT) : "http";
	}

	private static String host(URI uri) {
		return (uri.getHost() != null) ? uri.getHost().toLowerCase(Locale.ROOT) : "unknown";
	}

	private static int port(URI uri) {
		if (uri.getPort() != -1) {
			return uri.getPort();
		}
		return "https".equals(scheme(uri)) ? 443 : 80;
	}

	// Without its trailing slash, so that "/profile/" and "/profile" mean the same.
	private static String path(URI url) {
		String path = (url.getRawPath() != null) ? url.getRawPath() : "";
		while (path.endsWith("/")) {
			path = path.substring(0, path.length() - 1);
		}
		return path;
	}

	private record Entry(String name, String scheme, String host, int port, String path) {
	}

}
