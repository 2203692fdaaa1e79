package uk.nhs.hee.tis.examples.tcs;

import java.util.List;

import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Service;
import org.springframework.web.client.HttpServerErrorException;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;

/**
 * Loads the caller's permissions from Profile. When Profile fails, the starter serves the caller's
 * own last good userinfo for the {@code stale-if-error} window; after that the caller gets a clear
 * 503 (Problem Details) rather than a 500: a server error from Profile is turned into the same
 * {@link ServiceUnavailableException} the starter throws for timeouts and open breakers.
 */
@Service
public class UserInfoService {

	private final ProfileClient profile;

	public UserInfoService(ProfileClient profile) {
		this.profile = profile;
	}

	/**
	 * Loads the caller's userinfo.
	 * @param authorization the caller's {@code Authorization} header
	 * @return the userinfo, possibly stale
	 */
	@Fallback(method = "profileFailed", applyOn = HttpServerErrorException.class)
	public UserInfo load(String authorization) {
		ResponseEntity<ProfileClient.UserProfile> response = this.profile.userinfo(authorization);
		ProfileClient.UserProfile profile = response.getBody();
		List<String> permissions = (profile != null && profile.permissions() != null) ? profile.permissions() : List.of();
		return new UserInfo(permissions, response.getHeaders().containsHeader(HttpHeaders.WARNING));
	}

	UserInfo profileFailed(String authorization, HttpServerErrorException ex) {
		throw new ServiceUnavailableException("profile", ServiceUnavailableException.Reason.SERVER_ERROR, null, ex);
	}

	/**
	 * What Profile said of the caller.
	 * @param permissions what the caller may do
	 * @param stale whether it is a kept copy served while Profile fails
	 */
	public record UserInfo(List<String> permissions, boolean stale) {
	}

}
