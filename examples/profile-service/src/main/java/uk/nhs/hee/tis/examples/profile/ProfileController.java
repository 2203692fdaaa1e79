package uk.nhs.hee.tis.examples.profile;

import java.util.List;

import org.springframework.http.HttpStatus;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

import uk.nhs.hee.tis.examples.profile.UserProfiles.UserProfile;

/** Profile's read API: the caller's own userinfo, and look-ups by user name. */
@RestController
@RequestMapping("/api")
class ProfileController {

	private final UserProfiles profiles;

	ProfileController(UserProfiles profiles) {
		this.profiles = profiles;
	}

	/** The caller's profile, from the token's {@code preferred_username}: what every TIS service asks first. */
	@GetMapping("/userinfo")
	UserProfile userinfo(@AuthenticationPrincipal Jwt token) {
		return find(token.getClaimAsString("preferred_username"));
	}

	@GetMapping("/users/{userName}")
	UserProfile user(@PathVariable String userName) {
		return find(userName);
	}

	@GetMapping("/users")
	List<UserProfile> users() {
		return this.profiles.all();
	}

	private UserProfile find(String userName) {
		return this.profiles.find(userName)
			.orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "No profile for " + userName));
	}

}
