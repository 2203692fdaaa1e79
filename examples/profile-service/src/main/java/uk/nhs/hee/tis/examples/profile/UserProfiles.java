package uk.nhs.hee.tis.examples.profile;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.springframework.stereotype.Component;

/** The in-memory profiles of the demo realm's users, keyed by Keycloak's {@code preferred_username}. */
@Component
class UserProfiles {

	private static final List<String> ADMIN_PERMISSIONS = List.of("tcs:view:entities", "tcs:edit:entities",
			"tcs:view:reference");

	private static final List<String> VIEWER_PERMISSIONS = List.of("tcs:view:entities", "tcs:view:reference");

	private final Map<String, UserProfile> profiles = Map.of(
			"ada", new UserProfile("ada", "Ada Lovelace", List.of("HEE Admin"), ADMIN_PERMISSIONS, List.of("1-AIIDR8", "1-AIIDWA")),
			"mary", new UserProfile("mary", "Mary Seacole", List.of("HEE Admin"), ADMIN_PERMISSIONS, List.of("1-AIIDSA")),
			"florence", new UserProfile("florence", "Florence Nightingale", List.of("RVOfficer"), VIEWER_PERMISSIONS, List.of("1-AIIDR8")),
			"elizabeth", new UserProfile("elizabeth", "Elizabeth Garrett Anderson", List.of("RVOfficer"), VIEWER_PERMISSIONS, List.of("1-AIIDWA")),
			"james", new UserProfile("james", "James Barry", List.of("RVOfficer"), VIEWER_PERMISSIONS, List.of("1-AIIDSA")),
			"edward", new UserProfile("edward", "Edward Jenner", List.of("Trainee Viewer"), List.of("tcs:view:entities"), List.of("1-AIIDR8")),
			"service-account-tcs", new UserProfile("service-account-tcs", "tcs service account", List.of("Service"), ADMIN_PERMISSIONS, List.of()));

	Optional<UserProfile> find(String userName) {
		return Optional.ofNullable(this.profiles.get(userName));
	}

	List<UserProfile> all() {
		return this.profiles.values().stream().sorted((a, b) -> a.userName().compareTo(b.userName())).toList();
	}

	/**
	 * What Profile knows of a user.
	 * @param userName Keycloak's {@code preferred_username}
	 * @param fullName the user's name
	 * @param roles TIS roles
	 * @param permissions what the user may do, for example {@code tcs:view:entities}
	 * @param designatedBodyCodes the designated bodies the user works for
	 */
	record UserProfile(String userName, String fullName, List<String> roles, List<String> permissions,
			List<String> designatedBodyCodes) {
	}

}
