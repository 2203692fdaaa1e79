package uk.nhs.hee.tis.resilience.jwt;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;

/**
 * Keeps only keys fit to verify the issuer's signatures: asymmetric signature keys (RSA of at least
 * 2048 bits, or EC) with a key id, no private members, meant for signing, and for an accepted
 * algorithm. Symmetric ({@code oct}) keys are dropped: a public JWKS must never hold one, and
 * accepting it would let anyone who fetched it sign tokens.
 */
final class KeyHardening {

	static final int MIN_RSA_BITS = 2048;

	private final Set<String> algorithms;

	KeyHardening(Set<String> algorithms) {
		this.algorithms = algorithms;
	}

	JWKSet usableKeys(JWKSet keys) {
		List<JWK> usable = new ArrayList<>();
		for (JWK key : keys.getKeys()) {
			if (isUsable(key)) {
				usable.add(key.toPublicJWK());
			}
		}
		return new JWKSet(usable);
	}

	private boolean isUsable(JWK key) {
		if (key.getKeyID() == null || key.getKeyID().isBlank() || key.isPrivate()) {
			return false;
		}
		if (key.getKeyUse() != null && !KeyUse.SIGNATURE.equals(key.getKeyUse())) {
			return false;
		}
		Algorithm algorithm = key.getAlgorithm();
		if (algorithm != null && !this.algorithms.contains(algorithm.getName())) {
			return false;
		}
		if (key instanceof RSAKey rsa) {
			return rsa.size() >= MIN_RSA_BITS && acceptsFamily(JWSAlgorithm.Family.RSA);
		}
		if (key instanceof ECKey) {
			return acceptsFamily(JWSAlgorithm.Family.EC);
		}
		return false;
	}

	private boolean acceptsFamily(JWSAlgorithm.Family family) {
		return this.algorithms.stream().map(JWSAlgorithm::parse).anyMatch(family::contains);
	}

}
