package uk.nhs.hee.tis.resilience.autoconfigure;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.jspecify.annotations.Nullable;

/**
 * Every key under {@code tis.resilience}, read off {@link TisResilienceProperties}'s records (so it
 * cannot drift from what binds), with {@code *} for a service's name; and the closest of them to a key
 * that is not one. Closeness is the Levenshtein edit distance, as Spring Boot's own
 * {@code InvalidConfigurationPropertyNameFailureAnalyzer} has no "did you mean" to reuse.
 */
final class PropertyKeys {

	private static final Set<String> KEYS = collect(TisResilienceProperties.class, TisResilienceProperties.PREFIX,
			new TreeSet<>());

	private PropertyKeys() {
	}

	static Set<String> all() {
		return KEYS;
	}

	/**
	 * The valid key closest to one that is not, with the service's name put back, or null when none
	 * is close (more than a third of the key's last segment would have to change).
	 */
	static @Nullable String closestTo(String key) {
		String services = TisResilienceProperties.PREFIX + ".services.";
		String service = null;
		String pattern = key;
		if (key.startsWith(services) && key.indexOf('.', services.length()) > 0) {
			service = key.substring(services.length(), key.indexOf('.', services.length()));
			pattern = services + "*" + key.substring(services.length() + service.length());
		}
		String wildcard = pattern;
		String best = KEYS.stream().min(Comparator.comparingInt((String candidate) -> distance(candidate, wildcard)))
			.orElse(null);
		if (best == null) {
			return null;
		}
		String last = pattern.substring(pattern.lastIndexOf('.') + 1);
		if (distance(best, pattern) > Math.max(2, last.length() / 3)) {
			return null;
		}
		return (service != null) ? best.replace(".services.*.", ".services." + service + ".") : best;
	}

	private static Set<String> collect(Class<?> type, String prefix, Set<String> keys) {
		for (RecordComponent component : type.getRecordComponents()) {
			String key = prefix + "." + kebab(component.getName());
			Class<?> componentType = component.getType();
			if (Map.class.isAssignableFrom(componentType)) {
				Type valueType = ((ParameterizedType) component.getGenericType()).getActualTypeArguments()[1];
				collect((Class<?>) valueType, key + ".*", keys);
			}
			else if (componentType.isRecord()) {
				collect(componentType, key, keys);
			}
			else {
				keys.add(key);
			}
		}
		return keys;
	}

	private static String kebab(String camel) {
		return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
	}

	private static int distance(String a, String b) {
		int[] previous = new int[b.length() + 1];
		int[] current = new int[b.length() + 1];
		for (int j = 0; j <= b.length(); j++) {
			previous[j] = j;
		}
		for (int i = 1; i <= a.length(); i++) {
			current[0] = i;
			for (int j = 1; j <= b.length(); j++) {
				int substitution = previous[j - 1] + ((a.charAt(i - 1) == b.charAt(j - 1)) ? 0 : 1);
				current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
			}
			int[] swap = previous;
			previous = current;
			current = swap;
		}
		return previous[b.length()];
	}

}
